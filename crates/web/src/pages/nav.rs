//! The signed-in navigation: one entry per top-level page, with the roles
//! that see it. A page missing from here is still reachable by link; one
//! listed here must check the same roles in its handler.

use sentra_domain::Role;

/// One navigation entry as the layout renders it.
#[derive(Debug, Clone)]
pub struct Link {
    /// Path.
    pub href: &'static str,
    /// Visible label.
    pub label: &'static str,
    /// Whether this is the page being shown (`aria-current="page"`).
    pub current: bool,
}

const ALL: &[Role] = &Role::ALL;
const ADMINS: &[Role] = &[Role::Owner, Role::Admin];

/// `(path, label, roles)`, in display order. Entries for pages another
/// area provides are listed here up front so their branches need not touch
/// this table.
pub const ITEMS: &[(&str, &str, &[Role])] = &[
    ("/", "Dashboard", ALL),
    ("/messages", "Messages", ALL),
    ("/cases", "Cases", ALL),
    ("/suppliers", "Suppliers", ALL),
    ("/mailboxes", "Mailboxes", ADMINS),
    ("/alerts", "Alert channels", ADMINS),
    ("/users", "Users", ADMINS),
    ("/audit", "Audit log", ADMINS),
    ("/settings", "Settings", ADMINS),
    ("/account", "Your account", ALL),
];

/// The entries `role` sees; `current` is the path of the shown page (an
/// entry is current when the path equals it or is under it).
pub fn for_role(role: Role, current: &str) -> Vec<Link> {
    ITEMS
        .iter()
        .filter(|(_, _, roles)| roles.contains(&role))
        .map(|&(href, label, _)| Link {
            href,
            label,
            current: if href == "/" {
                current == "/"
            } else {
                current == href || current.starts_with(&format!("{href}/"))
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_do_not_see_admin_pages_and_current_is_marked() {
        let viewer = for_role(Role::Viewer, "/cases/abc");
        assert!(viewer.iter().all(|l| l.href != "/audit"));
        assert!(viewer.iter().any(|l| l.href == "/cases" && l.current));
        assert!(viewer.iter().any(|l| l.href == "/" && !l.current));
        let owner = for_role(Role::Owner, "/");
        assert!(owner.iter().any(|l| l.href == "/audit"));
        assert_eq!(owner.iter().filter(|l| l.current).count(), 1);
    }
}
