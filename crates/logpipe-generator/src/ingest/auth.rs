//! Bearer-token check for the ingest API, compared in constant time so the
//! response time does not reveal how much of a guess was right.

use axum::http::HeaderMap;

/// True when `headers` carry `Authorization: Bearer <expected>`.
pub fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    constant_time_eq(given.trim().as_bytes(), expected.as_bytes())
}

/// Compares every byte regardless of where the first difference is; only the
/// length (not a secret worth hiding here) short-circuits.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3cret"));
        h.insert("authorization", "Bearer s3cret".parse().unwrap());
        assert!(authorized(&h, "s3cret"));
        h.insert("authorization", "Bearer s3cres".parse().unwrap());
        assert!(!authorized(&h, "s3cret"));
        h.insert("authorization", "Basic s3cret".parse().unwrap());
        assert!(!authorized(&h, "s3cret"));
    }
}
