//! Value parsers of the command line's options, with typed errors that
//! clap prints after the option's name.

use thiserror::Error;

/// A value an option does not take.
#[derive(Debug, Error)]
pub(crate) enum ArgError {
    #[error("`{text}` is not a number: {source}")]
    NotANumber {
        text: String,
        source: std::num::ParseFloatError,
    },
    #[error("`{text}` is not an index: {source}")]
    NotAnIndex {
        text: String,
        source: std::num::ParseIntError,
    },
    #[error("{value} is not in {allowed}")]
    OutOfRange { value: f64, allowed: &'static str },
    #[error("`{0}`: expected LAYER:HEAD, e.g. 0:3")]
    NotLayerHead(String),
}

fn number(text: &str) -> Result<f64, ArgError> {
    text.trim().parse().map_err(|source| ArgError::NotANumber {
        text: text.to_string(),
        source,
    })
}

fn index(text: &str) -> Result<usize, ArgError> {
    text.trim().parse().map_err(|source| ArgError::NotAnIndex {
        text: text.to_string(),
        source,
    })
}

/// A fraction in 0..=1 (a keep fraction, where 0 and 1 are meaningful).
pub(crate) fn fraction(text: &str) -> Result<f64, ArgError> {
    let value = number(text)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ArgError::OutOfRange {
            value,
            allowed: "0..=1",
        })
    }
}

/// A finite number ≥ 0 (a count of standard errors).
pub(crate) fn non_negative(text: &str) -> Result<f64, ArgError> {
    let value = number(text)?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ArgError::OutOfRange {
            value,
            allowed: "0 or more",
        })
    }
}

/// A fraction in (0, 1] (a kept mass or a budget, where 0 keeps nothing).
pub(crate) fn unit_interval(text: &str) -> Result<f64, ArgError> {
    let value = number(text)?;
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(ArgError::OutOfRange {
            value,
            allowed: "(0, 1]",
        })
    }
}

/// A clock frequency in MHz, 1..=1000.
pub(crate) fn mhz(text: &str) -> Result<f64, ArgError> {
    let value = number(text)?;
    if (1.0..=1000.0).contains(&value) {
        Ok(value)
    } else {
        Err(ArgError::OutOfRange {
            value,
            allowed: "1..=1000 MHz",
        })
    }
}

/// `LAYER:HEAD`, two indices.
pub(crate) fn layer_head(text: &str) -> Result<(usize, usize), ArgError> {
    let (layer, head) = text
        .split_once(':')
        .ok_or_else(|| ArgError::NotLayerHead(text.to_string()))?;
    Ok((index(layer)?, index(head)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_keep_their_bounds() {
        assert_eq!(fraction("0").unwrap(), 0.0);
        assert!(fraction("1.5").is_err());
        assert!(unit_interval("0").is_err());
        assert_eq!(unit_interval("1").unwrap(), 1.0);
        assert!(mhz("0.5").is_err());
        assert!(matches!(fraction("x"), Err(ArgError::NotANumber { .. })));
    }

    #[test]
    fn a_layer_head_is_two_indices() {
        assert_eq!(layer_head("2:11").unwrap(), (2, 11));
        assert!(matches!(layer_head("2"), Err(ArgError::NotLayerHead(_))));
        assert!(matches!(
            layer_head("a:1"),
            Err(ArgError::NotAnIndex { .. })
        ));
    }
}
