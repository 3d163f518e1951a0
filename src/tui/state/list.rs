//! Selection and scrolling of a list drawn in a viewport of known height.
//!
//! Invariant after every call: `selected < len` (or 0 when empty) and the
//! selected row lies within `offset .. offset + height`.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

impl ListState {
    /// Move by `delta` rows (negative is up), clamped to the list.
    pub fn move_by(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            *self = ListState::default();
            return;
        }
        let target = (self.selected as isize).saturating_add(delta);
        self.selected = target.clamp(0, len as isize - 1) as usize;
        self.follow(len, height);
    }

    pub fn select(&mut self, index: usize, len: usize, height: usize) {
        self.selected = index;
        self.follow(len, height);
    }

    pub fn home(&mut self, len: usize, height: usize) {
        self.select(0, len, height);
    }

    pub fn end(&mut self, len: usize, height: usize) {
        self.select(len.saturating_sub(1), len, height);
    }

    /// Scroll the viewport by `delta` rows without moving past the ends;
    /// the selection is dragged along when it would leave the viewport.
    pub fn scroll(&mut self, delta: isize, len: usize, height: usize) {
        let max_offset = len.saturating_sub(height.max(1));
        self.offset = (self.offset as isize + delta).clamp(0, max_offset as isize) as usize;
        let h = height.max(1);
        if self.selected < self.offset {
            self.selected = self.offset;
        } else if self.selected >= self.offset + h {
            self.selected = self.offset + h - 1;
        }
        self.clamp(len, height);
    }

    /// Restore the invariant after the list or the viewport changed.
    pub fn clamp(&mut self, len: usize, height: usize) {
        if len == 0 {
            *self = ListState::default();
            return;
        }
        self.selected = self.selected.min(len - 1);
        self.follow(len, height);
    }

    fn follow(&mut self, len: usize, height: usize) {
        let h = height.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        self.offset = self.offset.min(len.saturating_sub(h));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_move_keeps_selection_in_view() {
        let mut l = ListState::default();
        l.move_by(15, 100, 10);
        assert_eq!((l.selected, l.offset), (15, 6));
        l.move_by(-10, 100, 10);
        assert_eq!((l.selected, l.offset), (5, 5));
        l.end(100, 10);
        assert_eq!((l.selected, l.offset), (99, 90));
        l.move_by(5, 100, 10);
        assert_eq!(l.selected, 99);
    }

    #[test]
    fn test_clamp_after_list_shrinks() {
        let mut l = ListState {
            selected: 50,
            offset: 45,
        };
        l.clamp(3, 10);
        assert_eq!((l.selected, l.offset), (2, 0));
        l.clamp(0, 10);
        assert_eq!(l, ListState::default());
    }

    #[test]
    fn test_scroll_drags_selection() {
        let mut l = ListState::default();
        l.scroll(3, 100, 10);
        assert_eq!((l.selected, l.offset), (3, 3));
        l.scroll(1000, 100, 10);
        assert_eq!((l.selected, l.offset), (90, 90));
    }
}
