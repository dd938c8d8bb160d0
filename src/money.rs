//! Money as the output shows it: rounded to cents when it is written, so that float noise
//! never reaches a page or a file, while sums keep their full precision until then.

use serde::Serializer;

/// Rounds money to cents.
pub fn cents(amount: f64) -> f64 {
    // Adding 0.0 turns the -0.0 of an empty sum into 0.0.
    (amount * 100.0).round() / 100.0 + 0.0
}

/// Writes an amount rounded to cents: for `#[serde(serialize_with)]`.
pub fn in_cents<S: Serializer>(amount: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(cents(*amount))
}

/// Writes an amount, if any, rounded to cents: for `#[serde(serialize_with)]`.
pub fn maybe_in_cents<S: Serializer>(
    amount: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match amount {
        Some(amount) => serializer.serialize_some(&cents(*amount)),
        None => serializer.serialize_none(),
    }
}
