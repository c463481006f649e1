//! What a pickle may cost: how deep its values nest, and how much exporting them may copy.
//!
//! Inside the interpreter, a value read twice through the memo is one shared value (an `Rc`).
//! The public [`super::Object`] tree owns its parts, so a shared value is copied once per
//! reference: 29 nested tuples of 1 000 references each would be 1 000^29 copies from a
//! 269-byte file. Every node and every copied byte is therefore charged to a [`Budget`]
//! proportional to the input; a pickle of numpy arrays shares nothing in its result and spends
//! almost none of it.

/// Deepest nesting of tuples accepted (the course's layout needs 3).
pub const MAX_DEPTH: usize = 32;

/// Bytes the export may allocate per byte of (decompressed) input, beyond [`BASE`].
const PER_INPUT_BYTE: usize = 4;
/// Bytes the export may always allocate, whatever the input's size.
const BASE: usize = 1 << 20;

/// What the export of one pickle may still allocate.
#[derive(Debug)]
pub(super) struct Budget {
    left: usize,
    total: usize,
}

impl Budget {
    /// The budget of a pickle of `len` bytes.
    pub(super) fn for_input(len: usize) -> Budget {
        let total = len.saturating_mul(PER_INPUT_BYTE).saturating_add(BASE);
        Budget { left: total, total }
    }

    /// Spends `bytes`; false when the budget does not cover them.
    pub(super) fn charge(&mut self, bytes: usize) -> bool {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                true
            }
            None => false,
        }
    }

    /// The message when it is spent.
    pub(super) fn exhausted(&self) -> String {
        format!(
            "its values, with the ones it shares copied out, would take more than {} bytes, \
             far more than the file itself describes; a pickle of numpy arrays never does that",
            self.total
        )
    }
}
