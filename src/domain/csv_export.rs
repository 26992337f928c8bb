//! A CSV download of any size as a stream of chunks: the header, then one chunk per keyset
//! page, each read on a connection held only for that page. An error mid-way ends the stream
//! (the client sees a truncated download, not a wrong one). The session records and the
//! automation drill-down export through it.

use crate::error::AppResult;
use futures_util::Stream;
use std::future::Future;

/// `fetch(after)` reads the page after the cursor (`None`: the first); a page shorter than
/// `page` is the last. `cursor` names the row a page ends at, `line` writes a row.
pub fn paged<C, R, F, Fut>(
    header: String,
    page: i64,
    fetch: F,
    cursor: impl Fn(&R) -> C,
    line: impl Fn(R) -> String,
) -> impl Stream<Item = AppResult<String>>
where
    F: Fn(Option<C>) -> Fut,
    Fut: Future<Output = AppResult<Vec<R>>>,
{
    struct State<C> {
        header: Option<String>,
        after: Option<C>,
        done: bool,
    }
    let init = State {
        header: Some(header),
        after: None,
        done: false,
    };
    futures_util::stream::try_unfold(
        (init, fetch, cursor, line),
        move |(mut st, fetch, cursor, line)| async move {
            if let Some(h) = st.header.take() {
                return Ok(Some((h, (st, fetch, cursor, line))));
            }
            if st.done {
                return Ok(None);
            }
            let rows = fetch(st.after.take()).await?;
            st.done = (rows.len() as i64) < page;
            st.after = rows.last().map(&cursor);
            if rows.is_empty() {
                return Ok(None);
            }
            let mut chunk = String::new();
            for r in rows {
                chunk.push_str(&line(r));
            }
            Ok(Some((chunk, (st, fetch, cursor, line))))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::cell::RefCell;

    /// The chunks of an export of `rows` read `page` at a time, and the cursors it asked after.
    async fn export(rows: Vec<i64>, page: i64) -> (Vec<String>, Vec<Option<i64>>) {
        let asked = RefCell::new(Vec::new());
        let fetch = |after: Option<i64>| {
            asked.borrow_mut().push(after);
            let from = after.map_or(0, |a| a + 1);
            let rows: Vec<i64> = rows
                .iter()
                .copied()
                .filter(|r| *r >= from)
                .take(page as usize)
                .collect();
            async move { Ok(rows) }
        };
        let chunks = paged("h\n".to_owned(), page, fetch, |r| *r, |r| format!("{r}\n"))
            .map(|c| c.expect("chunk"))
            .collect::<Vec<_>>()
            .await;
        (chunks, asked.into_inner())
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_and_a_short_page_is_the_last() {
        let (chunks, asked) = export(vec![0, 1, 2, 3, 4], 2).await;
        assert_eq!(chunks, ["h\n", "0\n1\n", "2\n3\n", "4\n"]);
        assert_eq!(asked, [None, Some(1), Some(3)]);
    }

    #[tokio::test]
    async fn a_full_last_page_ends_with_one_empty_read() {
        let (chunks, asked) = export(vec![0, 1, 2, 3], 2).await;
        assert_eq!(chunks, ["h\n", "0\n1\n", "2\n3\n"]);
        assert_eq!(asked, [None, Some(1), Some(3)]);
    }

    #[tokio::test]
    async fn nothing_to_export_is_the_header_alone() {
        let (chunks, _) = export(Vec::new(), 2).await;
        assert_eq!(chunks, ["h\n"]);
    }
}
