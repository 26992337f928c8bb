//! Users and their auth tokens.

use super::schema::{auth_tokens, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn).await
}

pub async fn set_password(conn: &mut AsyncPgConnection, id: i64, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .await
}

pub async fn insert_token(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    token_hash: &[u8],
    kind: &str,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> QueryResult<i64> {
    diesel::insert_into(auth_tokens::table)
        .values((
            auth_tokens::user_id.eq(user_id),
            auth_tokens::token_hash.eq(token_hash),
            auth_tokens::kind.eq(kind),
            auth_tokens::name.eq(name),
            auth_tokens::expires_at.eq(expires_at),
        ))
        .returning(auth_tokens::id)
        .get_result(conn)
        .await
}

/// The user a live (unexpired) token belongs to.
pub async fn user_for_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<User>> {
    auth_tokens::table
        .inner_join(users::table)
        .filter(auth_tokens::token_hash.eq(token_hash))
        .filter(
            auth_tokens::expires_at
                .is_null()
                .or(auth_tokens::expires_at.gt(Utc::now())),
        )
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn delete_token(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(auth_tokens::table.filter(auth_tokens::token_hash.eq(token_hash)))
        .execute(conn)
        .await
}

/// Ends every console login of a user (after a password reset).
pub async fn delete_cookie_tokens(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<usize> {
    diesel::delete(
        auth_tokens::table
            .filter(auth_tokens::user_id.eq(user_id))
            .filter(auth_tokens::kind.eq("cookie")),
    )
    .execute(conn)
    .await
}
