//! Who may do what in a project. Every REST handler and the websocket layer ask this module;
//! nothing else decides permissions or data scope.

pub use crate::db::enums::DataScope;
use crate::db::{self, enums::SessionStatus, projects::Role, sessions::SessionRow};
use crate::error::{AppError, AppResult};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Permission {
    #[serde(rename = "project.manage")]
    ManageProject,
    #[serde(rename = "team.manage")]
    ManageTeam,
    #[serde(rename = "channels.manage")]
    ManageChannels,
    #[serde(rename = "automation.manage")]
    ManageAutomation,
    /// Automation analytics (flow figures, drill-down, funnel); `automation.manage` grants it
    /// too.
    #[serde(rename = "automation.view")]
    ViewAutomation,
    #[serde(rename = "contacts.manage")]
    ManageContacts,
    #[serde(rename = "session_tags.manage")]
    ManageSessionTags,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::ManageProject,
        Permission::ManageTeam,
        Permission::ManageChannels,
        Permission::ManageAutomation,
        Permission::ViewAutomation,
        Permission::ManageContacts,
        Permission::ManageSessionTags,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ManageProject => "project.manage",
            Permission::ManageTeam => "team.manage",
            Permission::ManageChannels => "channels.manage",
            Permission::ManageAutomation => "automation.manage",
            Permission::ViewAutomation => "automation.view",
            Permission::ManageContacts => "contacts.manage",
            Permission::ManageSessionTags => "session_tags.manage",
        }
    }
    pub fn parse(s: &str) -> Option<Permission> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The builtin roles every project starts with: (name, permissions, scope).
pub fn builtin_roles() -> Vec<(&'static str, Vec<Permission>, DataScope)> {
    let all = Permission::ALL.to_vec();
    let admin: Vec<_> = all
        .iter()
        .copied()
        .filter(|p| *p != Permission::ManageProject)
        .collect();
    vec![
        ("owner", all, DataScope::All),
        ("admin", admin, DataScope::All),
        ("agent", vec![], DataScope::All),
    ]
}

/// A member's rights in one project, resolved once per request or connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub user_id: i64,
    pub project_id: i64,
    pub role: String,
    pub permissions: Vec<Permission>,
    pub scope: DataScope,
}

impl Access {
    pub fn from_role(user_id: i64, role: &Role) -> Access {
        Access {
            user_id,
            project_id: role.project_id,
            role: role.name.clone(),
            permissions: role
                .permissions
                .iter()
                .filter_map(|p| Permission::parse(p))
                .collect(),
            scope: role.data_scope,
        }
    }

    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// `has`, with what a permission implies: managing automation includes viewing its data.
    pub fn grants(&self, p: Permission) -> bool {
        self.has(p) || (p == Permission::ViewAutomation && self.has(Permission::ManageAutomation))
    }

    pub fn require(&self, p: Permission) -> AppResult<()> {
        if self.grants(p) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "your role lacks the permission {}",
                p.as_str()
            )))
        }
    }

    /// Whether a session with this status and assignee is in the member's data scope.
    pub fn can_see(&self, status: SessionStatus, assignee_id: Option<i64>) -> bool {
        match self.scope {
            DataScope::All => true,
            DataScope::Own => {
                assignee_id == Some(self.user_id) || status == SessionStatus::Unassigned
            }
        }
    }

    /// The sessions a member's reports (session management, CSV export) cover: `Some(user)`
    /// for own scope — only sessions assigned to them; the unassigned queue they may take
    /// from is not their record — and `None` (everything in the project) for scope all.
    pub fn report_scope(&self) -> Option<i64> {
        match self.scope {
            DataScope::Own => Some(self.user_id),
            DataScope::All => None,
        }
    }

    pub fn can_see_session(&self, s: &SessionRow) -> bool {
        s.project_id == self.project_id && self.can_see(s.status, s.assignee_id)
    }

    /// Whether the member sees a contact: scope `all` and `contacts.manage` see every contact
    /// of the project; otherwise only contacts with a session in the member's scope.
    /// `sessions` holds (status, assignee) of each of the contact's sessions. Decides the
    /// Contacts list and page and who gets live `contact` frames.
    pub fn sees_contact(&self, sessions: &[(SessionStatus, Option<i64>)]) -> bool {
        self.contact_scope().is_none() || self.sees_a_session_of(sessions)
    }

    /// `sees_contact` as a list filter: `Some(user)` when only contacts with a session assigned
    /// to the member or waiting unassigned are visible, `None` for every contact.
    pub fn contact_scope(&self) -> Option<i64> {
        if self.scope == DataScope::All || self.has(Permission::ManageContacts) {
            None
        } else {
            Some(self.user_id)
        }
    }

    /// Like `sees_contact`, as an error that does not reveal whether the contact exists.
    pub fn check_contact(&self, sessions: &[(SessionStatus, Option<i64>)]) -> AppResult<()> {
        if self.sees_contact(sessions) {
            Ok(())
        } else {
            Err(AppError::not_found("contact"))
        }
    }

    fn sees_a_session_of(&self, sessions: &[(SessionStatus, Option<i64>)]) -> bool {
        sessions
            .iter()
            .any(|(status, assignee)| self.can_see(*status, *assignee))
    }

    /// Who may edit a contact's customer info: `contacts.manage`, or any member for a contact
    /// with a session in the member's data scope (agents edit from the chat's info column).
    /// A member who may not is told the contact does not exist when it cannot see it at all.
    pub fn check_edit_contact(&self, sessions: &[(SessionStatus, Option<i64>)]) -> AppResult<()> {
        if self.has(Permission::ManageContacts) || self.sees_a_session_of(sessions) {
            Ok(())
        } else if self.scope == DataScope::All {
            Err(AppError::forbidden(
                "editing a contact without a session needs the permission contacts.manage",
            ))
        } else {
            Err(AppError::not_found("contact"))
        }
    }

    /// Like `can_see_session`, as an error that does not reveal whether the session exists.
    pub fn check_session(&self, s: &SessionRow) -> AppResult<()> {
        if self.can_see_session(s) {
            Ok(())
        } else {
            Err(AppError::not_found("session"))
        }
    }
}

/// Resolves a user's access to a project; a non-member gets `not_found`, so project ids of
/// other tenants are not confirmed to exist.
pub async fn load(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
) -> AppResult<Access> {
    match db::projects::membership(conn, project_id, user_id).await? {
        Some(role) => Ok(Access::from_role(user_id, &role)),
        None => Err(AppError::not_found("project")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(scope: DataScope) -> Access {
        Access {
            user_id: 7,
            project_id: 1,
            role: "agent".into(),
            permissions: vec![],
            scope,
        }
    }

    #[test]
    fn own_scope_sees_own_and_queue_only() {
        let a = access(DataScope::Own);
        use SessionStatus::*;
        assert!(a.can_see(Assigned, Some(7)));
        assert!(a.can_see(Unassigned, None));
        assert!(!a.can_see(Assigned, Some(8)));
        assert!(!a.can_see(Ended, Some(8)));
        assert!(a.can_see(Ended, Some(7)));
        assert!(access(DataScope::All).can_see(Assigned, Some(8)));
    }

    #[test]
    fn contact_edit_and_visibility_follow_sessions_in_scope() {
        let own = access(DataScope::Own);
        let mine = vec![(SessionStatus::Assigned, Some(7))];
        let others = vec![(SessionStatus::Assigned, Some(8))];
        let queued = vec![(SessionStatus::Unassigned, None)];
        assert!(own.check_edit_contact(&mine).is_ok());
        assert!(own.check_edit_contact(&queued).is_ok());
        assert_eq!(
            own.check_edit_contact(&others).unwrap_err().code,
            crate::error::ErrorCode::NotFound
        );
        assert!(own.sees_contact(&mine) && !own.sees_contact(&others) && !own.sees_contact(&[]));
        let all = access(DataScope::All);
        assert!(all.check_edit_contact(&others).is_ok());
        assert!(all.check_edit_contact(&[]).is_err());
        assert!(all.sees_contact(&[]));
        let mut manager = access(DataScope::Own);
        manager.permissions = vec![Permission::ManageContacts];
        assert!(manager.check_edit_contact(&others).is_ok());
        assert!(manager.check_edit_contact(&[]).is_ok());
        assert!(manager.sees_contact(&others) && manager.contact_scope().is_none());
        assert_eq!(own.contact_scope(), Some(7));
        assert!(own.check_contact(&others).is_err() && own.check_contact(&queued).is_ok());
    }

    #[test]
    fn managing_automation_grants_viewing_it_and_not_the_reverse() {
        let mut a = access(DataScope::All);
        assert!(!a.grants(Permission::ViewAutomation));
        a.permissions = vec![Permission::ManageAutomation];
        assert!(a.grants(Permission::ViewAutomation));
        assert!(a.require(Permission::ViewAutomation).is_ok());
        a.permissions = vec![Permission::ViewAutomation];
        assert!(a.require(Permission::ManageAutomation).is_err());
        let builtin = builtin_roles();
        for (name, perms, _) in &builtin {
            let viewer = perms.contains(&Permission::ViewAutomation);
            assert_eq!(viewer, *name != "agent", "{name}");
        }
    }

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::Value::String(p.as_str().into())
            );
        }
    }
}
