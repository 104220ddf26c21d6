//! Page-number pagination as authentik's REST framework does it (`page`, `page_size`, a page
//! past the end does not exist), in one place for every `/api/v3/` list: the arithmetic only,
//! so the service cuts pages and the http layer renders them the same way everywhere.

/// authentik's page size when none is asked for (its REST framework `PAGE_SIZE`).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page served (authentik's `max_page_size`); a larger `page_size` is clamped.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Which page: 1-based `page` (or the last), `page_size` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: PageNumber,
    pub page_size: usize,
}

/// A page asked for by number, or `last` (DRF's `last_page_strings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageNumber {
    Number(usize),
    Last,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: PageNumber::Number(1),
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// From the query's `page` and `page_size` texts: `None` for a `page` that is no page
    /// number (DRF answers it 404 "Invalid page."); a `page_size` that is no positive number
    /// is the default, a larger one than [`MAX_PAGE_SIZE`] is clamped.
    pub fn parse(page: Option<&str>, page_size: Option<&str>) -> Option<Self> {
        let page = match page.map(str::trim) {
            None | Some("") => PageNumber::Number(1),
            Some("last") => PageNumber::Last,
            Some(p) => PageNumber::Number(p.parse::<usize>().ok().filter(|&n| n >= 1)?),
        };
        let page_size = page_size
            .and_then(|p| p.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map_or(DEFAULT_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE));
        Some(Self { page, page_size })
    }
}

/// One page of a list and where it sits in the whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: usize,
    pub page_size: usize,
    /// Items in the whole list.
    pub count: usize,
}

impl<T> Page<T> {
    /// Cuts the page `req` asks for out of `all`; `None` when there is no such page (past the
    /// end; an empty list has one empty page, as DRF counts).
    pub fn cut(all: Vec<T>, req: PageRequest) -> Option<Self> {
        let page_size = req.page_size.clamp(1, MAX_PAGE_SIZE);
        let count = all.len();
        let total_pages = count.div_ceil(page_size).max(1);
        let page = match req.page {
            PageNumber::Last => total_pages,
            PageNumber::Number(n) if (1..=total_pages).contains(&n) => n,
            PageNumber::Number(_) => return None,
        };
        let items = all
            .into_iter()
            .skip((page - 1) * page_size)
            .take(page_size)
            .collect();
        Some(Self {
            items,
            page,
            page_size,
            count,
        })
    }

    /// Pages in the whole list (at least 1, as authentik counts them).
    pub fn total_pages(&self) -> usize {
        self.count.div_ceil(self.page_size).max(1)
    }

    /// The 1-based index of the page's first item in the whole list (0 for an empty page).
    pub fn start_index(&self) -> usize {
        if self.items.is_empty() {
            0
        } else {
            (self.page - 1) * self.page_size + 1
        }
    }

    /// The 1-based index of the page's last item (0 for an empty page).
    pub fn end_index(&self) -> usize {
        match self.start_index() {
            0 => 0,
            start => start + self.items.len() - 1,
        }
    }

    /// The same page with its items turned into others (e.g. rendered).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            page_size: self.page_size,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(page: Option<&str>, size: Option<&str>) -> Option<PageRequest> {
        PageRequest::parse(page, size)
    }

    #[test]
    fn query_texts_become_a_request_or_an_invalid_page() {
        assert_eq!(req(None, None), Some(PageRequest::default()));
        assert_eq!(req(Some("0"), None), None);
        assert_eq!(req(Some("x"), None), None);
        let last = req(Some("last"), Some("5000")).expect("last");
        assert_eq!(
            (last.page, last.page_size),
            (PageNumber::Last, MAX_PAGE_SIZE)
        );
        assert_eq!(req(Some("2"), Some("-1")).map(|r| r.page_size), Some(100));
    }

    #[test]
    fn pages_are_cut_as_drf_counts_them() {
        let all: Vec<u32> = (1..=5).collect();
        let size2 = |n| PageRequest {
            page: PageNumber::Number(n),
            page_size: 2,
        };
        let p = Page::cut(all.clone(), size2(3)).expect("page 3");
        assert_eq!((p.items.clone(), p.total_pages()), (vec![5], 3));
        assert_eq!((p.start_index(), p.end_index()), (5, 5));
        assert!(Page::cut(all.clone(), size2(4)).is_none(), "past the end");
        let last = PageRequest {
            page: PageNumber::Last,
            page_size: 2,
        };
        assert_eq!(Page::cut(all, last).map(|p| p.page), Some(3));
        let empty = Page::cut(Vec::<u32>::new(), size2(1)).expect("one empty page");
        assert_eq!(
            (empty.total_pages(), empty.start_index(), empty.end_index()),
            (1, 0, 0)
        );
        assert!(Page::cut(Vec::<u32>::new(), size2(2)).is_none());
    }
}
