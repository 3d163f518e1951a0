//! Byte classes of 64-byte blocks as bit masks, for the loops that look at
//! every byte of a message body.
//!
//! Body lines are short (base64 is 76 characters and CRLF), so a loop that
//! calls `memchr` once per line pays the call's setup about every 78 bytes;
//! that setup was most of the cost of finding DATA's line ends and of
//! stripping line breaks from base64. A mask gives every match in a block
//! at once, and the loop walks the set bits.
//!
//! With SSE2 (every x86_64 target but the soft-float ones) the masks come
//! from four 16-byte compares; elsewhere from a portable loop that the tests
//! also use as the oracle. That loop is unmeasured on other architectures
//! and may be slower there than memchr's own SIMD code was.

/// Bytes per block.
pub const BLOCK: usize = 64;

/// Bit `i` is set where `block[i] <= max`.
#[inline]
pub fn le_mask(block: &[u8; BLOCK], max: u8) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::le_mask(block, max)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable_le_mask(block, max)
    }
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_le_mask(block: &[u8; BLOCK], max: u8) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |m, (i, &b)| m | (u64::from(b <= max) << i))
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8,
    };

    use super::{LineMasks, BLOCK};

    #[inline]
    pub fn le_mask(block: &[u8; BLOCK], max: u8) -> u64 {
        let mut mask = 0;
        for (i, lane) in block.as_chunks::<16>().0.iter().enumerate() {
            // SAFETY: this module is compiled only where SSE2 is enabled,
            // and the unaligned load reads the 16 bytes of `lane`, which it
            // borrows. A byte is <= max exactly when the unsigned minimum
            // of the two is the byte itself.
            let bits = unsafe {
                let v = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(max as i8)), v))
            };
            mask |= u64::from(bits as u16) << (16 * i);
        }
        mask
    }

    /// [`super::plain_text`] of at least 16 bytes: 16 at a time, the
    /// last 16 overlapping the ones before.
    #[inline]
    pub fn plain_text(bytes: &[u8]) -> bool {
        let (lanes, _) = bytes.as_chunks::<16>();
        let last = bytes.last_chunk::<16>();
        let mut bad = 0;
        for lane in lanes.iter().chain(last) {
            // SAFETY: as in `le_mask`. A byte is a control up to CR when
            // its unsigned minimum with CR is itself; the sign bit is the
            // high bit.
            bad |= unsafe {
                let v = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(
                    _mm_min_epu8(v, _mm_set1_epi8(b'\r' as i8)),
                    v,
                )) | _mm_movemask_epi8(v)
            };
        }
        bad == 0
    }

    #[inline]
    pub fn line_masks(block: &[u8; BLOCK]) -> LineMasks {
        let mut m = LineMasks::default();
        for (i, lane) in block.as_chunks::<16>().0.iter().enumerate() {
            let shift = 16 * i;
            // SAFETY: as in `le_mask`: SSE2 is enabled for this module and
            // the load reads the 16 borrowed bytes of `lane`.
            let [cr, lf, low, dot, dash, high] = unsafe {
                let v = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
                let eq = |c: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8)));
                let at_most = |x: __m128i, max: u8| {
                    _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(max as i8)), x))
                };
                [
                    eq(b'\r'),
                    eq(b'\n'),
                    at_most(v, b'\r'),
                    eq(b'.'),
                    eq(b'-'),
                    _mm_movemask_epi8(v),
                ]
            };
            let bits = |b: i32| u64::from(b as u16) << shift;
            m.cr |= bits(cr);
            m.lf |= bits(lf);
            m.low |= bits(low);
            m.dot |= bits(dot);
            m.dash |= bits(dash);
            m.high |= bits(high);
        }
        m
    }
}

/// The bytes of one block that a scan of DATA lines looks at, one bit per
/// byte.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LineMasks {
    pub cr: u64,
    pub lf: u64,
    /// Bytes `<= 0x0d`: CR, LF, NUL and the rarer controls (TAB, FF, ...).
    pub low: u64,
    pub dot: u64,
    /// `-`, which starts a MIME delimiter line.
    pub dash: u64,
    /// Bytes with the high bit set.
    pub high: u64,
}

/// The [`LineMasks`] of a block.
#[inline]
pub fn line_masks(block: &[u8; BLOCK]) -> LineMasks {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::line_masks(block)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        portable_line_masks(block)
    }
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn portable_line_masks(block: &[u8; BLOCK]) -> LineMasks {
    let mut m = LineMasks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        let set = |mask: &mut u64, on: bool| *mask |= if on { bit } else { 0 };
        set(&mut m.cr, b == b'\r');
        set(&mut m.lf, b == b'\n');
        set(&mut m.low, b <= b'\r');
        set(&mut m.dot, b == b'.');
        set(&mut m.dash, b == b'-');
        set(&mut m.high, b >= 0x80);
    }
    m
}

/// Every byte is in `0x0e..=0x7f`: no CR, LF or NUL, nothing 8-bit, and
/// none of the rarer controls either (TAB, FF, ...), though the DATA
/// automatons would take those as ordinary bytes.
#[inline]
pub fn plain_text(bytes: &[u8]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        if bytes.len() >= 16 {
            return sse2::plain_text(bytes);
        }
    }
    bytes.iter().all(|&b| (0x0e..0x80).contains(&b))
}

/// The positions of the bytes `<= max` in a slice, in order: a
/// memchr for dense matches (one mask per block, then its set bits).
pub struct Below<'a> {
    input: &'a [u8],
    max: u8,
    /// Start of the block `mask` describes.
    base: usize,
    /// Matches of that block not yet returned.
    mask: u64,
}

impl<'a> Below<'a> {
    pub fn new(input: &'a [u8], max: u8) -> Below<'a> {
        let mut it = Below {
            input,
            max,
            base: 0,
            mask: 0,
        };
        it.load();
        it
    }

    fn load(&mut self) {
        let rest = self.input.get(self.base..).unwrap_or_default();
        self.mask = match rest.first_chunk::<BLOCK>() {
            Some(block) => le_mask(block, self.max),
            None => {
                // The short last block (under 64 bytes, so the shift below
                // cannot overflow): padded, and the padding's bits cleared.
                let mut block = [0; BLOCK];
                block
                    .get_mut(..rest.len())
                    .unwrap_or_default()
                    .copy_from_slice(rest);
                le_mask(&block, self.max) & ((1u64 << rest.len()) - 1)
            }
        };
    }
}

impl Iterator for Below<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.base + BLOCK >= self.input.len() {
                return None;
            }
            self.base += BLOCK;
            self.load();
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Append `input` to `out` without its CR and LF bytes, one copy per line,
/// stopping at the first LF followed by `next` (when given): returns that
/// LF's position, having appended what came before it. A MIME body scan
/// finds its delimiter candidates (`\n-`) in the same pass that strips a
/// base64 body's line breaks.
pub fn strip_line_breaks_until(input: &[u8], next: Option<u8>, out: &mut Vec<u8>) -> Option<usize> {
    let mut from = 0;
    for at in Below::new(input, b'\r') {
        match input.get(at) {
            Some(b'\n') if next.is_some() && input.get(at + 1).copied() == next => {
                out.extend_from_slice(input.get(from..at).unwrap_or_default());
                return Some(at);
            }
            Some(b'\r' | b'\n') => {
                out.extend_from_slice(input.get(from..at).unwrap_or_default());
                from = at + 1;
            }
            _ => {}
        }
    }
    out.extend_from_slice(input.get(from..).unwrap_or_default());
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn test_le_mask_matches_the_portable_loop(
            block in proptest::collection::vec(any::<u8>(), BLOCK),
            max in prop_oneof![Just(13u8), Just(0u8), Just(0x7f), Just(0x80), Just(u8::MAX), any::<u8>()],
        ) {
            let b: [u8; BLOCK] = block.try_into().unwrap();
            prop_assert_eq!(le_mask(&b, max), portable_le_mask(&b, max));
        }

        #[test]
        fn test_line_masks_match_the_portable_loop(
            block in proptest::collection::vec(prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(0u8), Just(b'.'), Just(b'-'), Just(0x80u8), Just(0x0eu8), any::<u8>()
            ], BLOCK),
        ) {
            let b: [u8; BLOCK] = block.try_into().unwrap();
            prop_assert_eq!(line_masks(&b), portable_line_masks(&b));
        }

        #[test]
        fn test_plain_text_is_every_byte_between_cr_and_0x80(
            bytes in proptest::collection::vec(prop_oneof![
                200 => prop_oneof![Just(0x0eu8), Just(0x7fu8), Just(b'A')],
                1 => prop_oneof![Just(b'\r'), Just(0x80u8), Just(0u8), any::<u8>()],
            ], 0..100),
        ) {
            prop_assert_eq!(plain_text(&bytes), bytes.iter().all(|&b| (0x0e..0x80).contains(&b)));
        }

        #[test]
        fn test_below_finds_every_small_byte_in_order(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(0u8), Just(b'x'), any::<u8>()], 0..300),
            max in prop_oneof![Just(13u8), Just(0u8), Just(u8::MAX), any::<u8>()],
        ) {
            let found: Vec<usize> = Below::new(&input, max).collect();
            let expected: Vec<usize> = (0..input.len()).filter(|&i| input[i] <= max).collect();
            prop_assert_eq!(found, expected);
        }

        #[test]
        fn test_strip_until_stops_at_the_first_lf_before_next(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'-'), Just(b'A'), any::<u8>()], 0..400),
        ) {
            let mut out = Vec::new();
            let stop = strip_line_breaks_until(&input, Some(b'-'), &mut out);
            let expected_stop = input.windows(2).position(|w| w == b"\n-");
            prop_assert_eq!(stop, expected_stop);
            let before = &input[..expected_stop.unwrap_or(input.len())];
            let expected: Vec<u8> = before.iter().copied().filter(|&b| b != b'\n' && b != b'\r').collect();
            prop_assert_eq!(out, expected);
        }

        #[test]
        fn test_strip_line_breaks_drops_exactly_cr_and_lf(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'\t'), Just(b'A'), any::<u8>()], 0..400),
        ) {
            let mut out = b"kept".to_vec();
            strip_line_breaks_until(&input, None, &mut out);
            let mut expected = b"kept".to_vec();
            expected.extend(input.iter().filter(|&&b| b != b'\n' && b != b'\r'));
            prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn test_le_mask_sets_the_bit_of_each_position() {
        for at in 0..BLOCK {
            let mut b = [b'x'; BLOCK];
            b[at] = b'\n';
            assert_eq!(le_mask(&b, b'\r'), 1 << at);
            assert_eq!(le_mask(&b, b'x'), u64::MAX);
        }
    }

    #[test]
    fn test_below_at_block_edges() {
        for len in [0, 1, 63, 64, 65, 127, 128, 129] {
            let mut input = vec![b'a'; len];
            for at in [0, 62, 63, 64, 65, 127, 128] {
                if at < len {
                    input[at] = b'\n';
                }
            }
            let expected: Vec<usize> = (0..len).filter(|&i| input[i] == b'\n').collect();
            assert_eq!(Below::new(&input, b'\r').collect::<Vec<_>>(), expected);
        }
    }
}
