//! Statements on the message path that diesel would send unprepared, kept prepared instead.
//!
//! Diesel caches a connection's prepared statements only for queries whose SQL it knows to be
//! fixed: every `sql_query`, every UPDATE and every multi-row INSERT is prepared again for
//! each execution. With diesel-async that is a Parse/Describe round trip of its own (taken
//! under the connection's statement-cache lock, so it also stalls the batch's pipelined
//! statements), a parse, analysis and custom plan in PostgreSQL, and a Close after it.
//! [`Prepared`] marks a query as safe to cache: the cache is then keyed by its SQL text and
//! bind types, so each distinct text is prepared once per connection and executed with one
//! Bind/Execute after that. Use it only where the number of distinct texts is small and
//! bounded (a fixed text, or one per batch size up to the committer's limit): every text
//! stays prepared on every pooled connection. Name the columns a prepared text returns: a
//! `*` fails on every later run on its connection once a migration adds a column ("cached
//! plan must not change result type").

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// `query`, prepared once per connection and SQL text (see the module's notes).
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the statement cache keys it by its SQL text and bind types, so different
/// texts (a batch of 2 rows, of 3) are different statements.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
