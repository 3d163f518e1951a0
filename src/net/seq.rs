//! TCP sequence numbers: 32-bit values compared with wrapping arithmetic
//! (RFC 9293 §3.4), so a stream that crosses 2^32 is still in order.

use std::ops::{Add, Sub};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u32);

impl Seq {
    /// Signed distance `self - other`, correct while the two are within
    /// 2^31 of each other.
    pub fn diff(self, other: Seq) -> i64 {
        i64::from(self.0.wrapping_sub(other.0) as i32)
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    fn add(self, rhs: u32) -> Seq {
        Seq(self.0.wrapping_add(rhs))
    }
}

impl Sub for Seq {
    type Output = i64;
    fn sub(self, rhs: Seq) -> i64 {
        self.diff(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_diff_across_wrap() {
        let before = Seq(u32::MAX - 9);
        let after = before + 20;
        assert_eq!(after.0, 10);
        assert_eq!(after - before, 20);
        assert_eq!(before - after, -20);
    }
}
