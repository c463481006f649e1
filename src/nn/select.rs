//! Model selection: the kept model is a true copy of the best one so far, by the selecting
//! accuracy, replaced only when strictly better. The lecture's Python kept `model.copy()`, a
//! shallow copy whose arrays were then updated in place, so its "best" model was silently the
//! last one: this one really is the best.

use super::kernels::Real;
use super::model::Model;

pub(super) struct Selection<T> {
    pub best: Model<T>,
    pub best_acc: f64,
    /// The step after which `best_acc` was first reached (0: the initial weights).
    pub best_step: usize,
}

impl<T: Real> Selection<T> {
    /// Starts from the initial model and its accuracy.
    pub fn new(initial: &Model<T>, acc: f64) -> Selection<T> {
        Selection {
            best: initial.clone(),
            best_acc: acc,
            best_step: 0,
        }
    }

    /// Keeps `net` (copied) when `acc` is strictly better than the best so far.
    pub fn consider(&mut self, step: usize, acc: f64, net: &Model<T>) {
        if acc > self.best_acc {
            self.best_acc = acc;
            self.best_step = step;
            self.best.copy_from(net);
        }
    }
}
