//! Python's `math.fsum`: the exactly rounded sum of floats (the partials of Shewchuk's
//! algorithm, as `CPython` computes them), for gauges summed across processes.

/// The exactly rounded sum of `values`, as `math.fsum` gives it (a zero sum is +0.0);
/// +inf with -inf give NaN (where `fsum` raises). None where `fsum` raises for a
/// partial sum beyond the largest float, for the caller to add exactly another way.
pub fn exact_sum(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut partials: Vec<f64> = Vec::new();
    let (mut special, mut infinite) = (0.0_f64, 0.0_f64);
    for value in values {
        let mut x = value;
        let mut kept = 0;
        for at in 0..partials.len() {
            let mut y = partials[at];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        if x.is_finite() {
            if x != 0.0 {
                partials.push(x);
            }
        } else {
            // A non-finite sum: an overflow of finite values, or an infinity or NaN among
            // them.
            if value.is_finite() {
                return None;
            }
            if value.is_infinite() {
                infinite += value;
            }
            special += value;
            partials.clear();
        }
    }
    if special != 0.0 {
        // `fsum` raises for +inf with -inf (their sum, NaN): NaN, as adding them gives.
        return Some(if infinite.is_nan() { f64::NAN } else { special });
    }
    Some(round_partials(&partials))
}

/// The partials' sum, rounded once, half to even across partials.
fn round_partials(partials: &[f64]) -> f64 {
    let mut n = partials.len();
    let Some(&top) = partials.last() else {
        return 0.0;
    };
    let (mut hi, mut lo) = (top, 0.0);
    n -= 1;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        let yr = x - hi;
        #[allow(clippy::float_cmp)]
        if y == yr {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::exact_sum;

    #[test]
    fn sums_as_fsum_does() {
        assert_eq!(exact_sum([0.1; 10]), Some(1.0));
        assert_eq!(
            exact_sum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
            Some(1e-100)
        );
        assert_eq!(exact_sum([]), Some(0.0));
        let zero = exact_sum([-0.0]).unwrap_or(f64::NAN);
        assert!(zero == 0.0 && zero.is_sign_positive());
        assert_eq!(exact_sum([f64::INFINITY, 1.0]), Some(f64::INFINITY));
        assert!(exact_sum([f64::INFINITY, f64::NEG_INFINITY]).is_some_and(f64::is_nan));
        assert!(exact_sum([f64::NAN, 1.0]).is_some_and(f64::is_nan));
        assert_eq!(exact_sum([f64::MAX, f64::MAX]), None);
    }
}
