//! ECDSA signatures as KMS returns them (DER: `SEQUENCE { INTEGER r, INTEGER s }`, 8 to 72 bytes
//! for P-256) turned into the JWS form (RFC 7518 §3.4: R‖S, each 32 bytes, left-padded). Parsed,
//! never sliced: an integer's length varies with its leading bits.

/// `None` for anything but a well-formed P-256 ECDSA signature.
pub fn to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    let (body, rest) = element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, body) = element(body, 0x02)?;
    let (s, body) = element(body, 0x02)?;
    if !body.is_empty() {
        return None;
    }
    let mut fixed = [0u8; 64];
    fixed[..32].copy_from_slice(&scalar(r)?);
    fixed[32..].copy_from_slice(&scalar(s)?);
    Some(fixed)
}

/// One DER element with `tag` and a short-form length (every P-256 signature fits): its content
/// and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let [found, length, rest @ ..] = input else {
        return None;
    };
    let length = usize::from(*length);
    if *found != tag || length >= 0x80 || rest.len() < length {
        return None;
    }
    Some(rest.split_at(length))
}

/// A positive DER INTEGER as 32 big-endian bytes: at most one leading zero, and only before a
/// byte with its high bit set (DER's minimal encoding).
fn scalar(integer: &[u8]) -> Option<[u8; 32]> {
    let digits = match integer {
        [] => return None,
        [0, next, ..] if *next < 0x80 => return None,
        [0, rest @ ..] if !rest.is_empty() => rest,
        [first, ..] if *first >= 0x80 => return None, // negative
        all => all,
    };
    if digits.len() > 32 {
        return None;
    }
    let mut fixed = [0u8; 32];
    fixed[32 - digits.len()..].copy_from_slice(digits);
    Some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut body = vec![0x02, r.len() as u8];
        body.extend_from_slice(r);
        body.extend_from_slice(&[0x02, s.len() as u8]);
        body.extend_from_slice(s);
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    #[test]
    fn every_integer_length_is_left_padded() {
        // r with its high bit set (33 bytes with the zero), s short (leading zero bytes dropped).
        let mut r = vec![0u8];
        r.extend([0x80; 32]);
        let s = [0x01, 0x02];
        let fixed = to_fixed(&der(&r, &s)).unwrap();
        assert_eq!(&fixed[..32], &[0x80; 32]);
        assert_eq!(&fixed[32..62], &[0; 30]);
        assert_eq!(&fixed[62..], &[0x01, 0x02]);
        // The longest form (72 bytes) and a 32-byte r without padding.
        let long = der(&r, &r);
        assert_eq!(long.len(), 72);
        assert_eq!(to_fixed(&long).unwrap(), [0x80; 64]);
        assert!(to_fixed(&der(&[0x7f; 32], &[0x7f; 32])).is_some());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let good = der(&[0x01; 32], &[0x02; 32]);
        assert!(to_fixed(&good).is_some());
        let mut trailing = good.clone();
        trailing.push(0);
        let mut wrong_tag = good.clone();
        wrong_tag[0] = 0x31;
        for bad in [
            &trailing[..],
            &wrong_tag[..],
            &good[..good.len() - 1],
            &der(&[0x80; 32], &[0x01])[..], // negative r
            &der(&[0, 0x01], &[0x01])[..],  // non-minimal zero
            &der(&[0x01; 33], &[0x01])[..], // too long
            &der(&[], &[0x01])[..],         // empty
            &[][..],
        ] {
            assert_eq!(to_fixed(bad), None, "{bad:02x?}");
        }
    }
}
