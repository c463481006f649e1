//! Validated values: each refuses a bad value in its own deserializer, where toml can point at
//! the offending line and key.
//!
//! [`ValidationFraction`]: crate::data::ValidationFraction

use serde::{Deserialize, Deserializer};

fn refuse<'de, D: Deserializer<'de>, T>(message: String) -> Result<T, D::Error> {
    Err(serde::de::Error::custom(message))
}

/// The sweep's name, used in file names: letters, digits, `-`, `_`, `.`.
pub(super) struct Name(pub(super) String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(Name(name))
        } else {
            refuse::<D, _>(format!(
                "name {name:?} is used in file names: use letters, digits, '-', '_' or '.', \
                 e.g. name = \"circles_overfit\""
            ))
        }
    }
}

/// A count of at least one (steps, samples, neurons, training size).
#[derive(Debug, Clone, Copy)]
pub(super) struct Count(pub(super) usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match usize::try_from(v) {
            Ok(n) if n >= 1 => Ok(Count(n)),
            _ => refuse::<D, _>(format!("must be a whole number of at least 1, got {v}")),
        }
    }
}

/// A learning rate: finite and > 0.
#[derive(Debug, Clone, Copy)]
pub(super) struct Eta(pub(super) f64);

impl<'de> Deserialize<'de> for Eta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v > 0.0 {
            Ok(Eta(v))
        } else {
            refuse::<D, _>(format!(
                "learning rate must be a number > 0, got {v}; the lecture uses 5e-3 (circles) \
                 and 5e-4 (MNIST)"
            ))
        }
    }
}

/// A finite value >= 0 (noise, L2 penalty).
#[derive(Debug, Clone, Copy)]
pub(super) struct NonNegative(pub(super) f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v >= 0.0 {
            Ok(NonNegative(v))
        } else {
            refuse::<D, _>(format!("must be a number >= 0, got {v}"))
        }
    }
}

/// A fraction in [0, 1) (test_fraction).
#[derive(Debug, Clone, Copy)]
pub(super) struct Fraction(pub(super) f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if (0.0..1.0).contains(&v) {
            Ok(Fraction(v))
        } else {
            refuse::<D, _>(format!("must be a fraction in [0, 1), got {v}; e.g. 0.2"))
        }
    }
}

/// A probability in [0, 1) (dropout: the chance a hidden unit is dropped at a step).
#[derive(Debug, Clone, Copy)]
pub(super) struct Probability(pub(super) f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if (0.0..1.0).contains(&v) {
            Ok(Probability(v))
        } else {
            refuse::<D, _>(format!(
                "must be a probability in [0, 1), got {v}; e.g. 0.2 (0: no dropout)"
            ))
        }
    }
}

/// A fraction in (0, 1) (the inner circle's radius).
#[derive(Debug, Clone, Copy)]
pub(super) struct OpenFraction(pub(super) f64);

impl<'de> Deserialize<'de> for OpenFraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v > 0.0 && v < 1.0 {
            Ok(OpenFraction(v))
        } else {
            refuse::<D, _>(format!(
                "must be strictly between 0 and 1, got {v}; e.g. 0.8"
            ))
        }
    }
}

/// `validation_fraction`: checked by `ValidationFraction` itself, refused where toml points.
#[derive(Debug, Clone, Copy)]
pub(super) struct ValFraction(pub(super) crate::data::ValidationFraction);

impl<'de> Deserialize<'de> for ValFraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match crate::data::ValidationFraction::new(f64::deserialize(d)?) {
            Ok(f) => Ok(ValFraction(f)),
            Err(message) => refuse::<D, _>(message),
        }
    }
}

/// A list with at least one value: an empty axis would make an empty sweep.
pub(super) struct NonEmpty<T>(pub(super) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmpty<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<T>::deserialize(d)?;
        if v.is_empty() {
            refuse::<D, _>("the list is empty; give at least one value".into())
        } else {
            Ok(NonEmpty(v))
        }
    }
}

/// One network shape: `10` for one hidden layer, `[30, 30]` for two.
pub(super) enum HiddenLayers {
    One(usize),
    Many(Vec<usize>),
}

impl HiddenLayers {
    pub(super) fn sizes(&self) -> Vec<usize> {
        match self {
            HiddenLayers::One(n) => vec![*n],
            HiddenLayers::Many(v) => v.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for HiddenLayers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(i64),
            Many(Vec<i64>),
        }
        let hint = "each entry of `hidden` is a layer size (10) or a list of sizes ([30, 30]), \
                    every size at least 1";
        let either = Either::deserialize(d)
            .map_err(|_| serde::de::Error::custom(format!("not a network shape: {hint}")))?;
        let to_size = |v: i64| usize::try_from(v).ok().filter(|&n| n >= 1);
        match either {
            Either::One(v) => match to_size(v) {
                Some(n) => Ok(HiddenLayers::One(n)),
                None => refuse::<D, _>(format!("{v} neurons: {hint}")),
            },
            Either::Many(v) if v.is_empty() => refuse::<D, _>(format!("an empty list: {hint}")),
            Either::Many(v) => match v.iter().map(|&x| to_size(x)).collect::<Option<Vec<_>>>() {
                Some(sizes) => Ok(HiddenLayers::Many(sizes)),
                None => refuse::<D, _>(format!("{v:?}: {hint}")),
            },
        }
    }
}
