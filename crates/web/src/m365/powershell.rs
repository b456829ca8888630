//! The Exchange Online PowerShell that limits Sentra to the selected
//! mailboxes (graph-contract §2.1, "RBAC for Applications"), and the lines
//! that undo it (§2.5). Generated from the application id and the parsed
//! [`MailboxAddress`]es only, each single-quoted, so nothing an admin typed
//! can become a command.
//!
//! The scope is a management scope whose recipient filter names exactly the
//! selected addresses: no attribute has to be set on the mailboxes, and
//! adding a mailbox later means re-running one `Set-ManagementScope` line.

use super::MailboxAddress;
use std::fmt::Write as _;

/// The management scope's name.
pub const SCOPE_NAME: &str = "Sentra mailboxes";
/// Where the admin finds the object id Sentra cannot read itself (it would
/// need a directory permission Sentra does not ask for).
pub const OBJECT_ID_HINT: &str =
    "Entra admin center > Enterprise applications > Sentra > Overview > Object ID";

/// The recipient filter naming exactly `mailboxes`.
fn filter(mailboxes: &[MailboxAddress]) -> String {
    if mailboxes.is_empty() {
        return "PrimarySmtpAddress -eq 'add-a-mailbox-in-sentra-first@invalid'".to_owned();
    }
    mailboxes
        .iter()
        .map(|m| format!("PrimarySmtpAddress -eq '{m}'"))
        .collect::<Vec<_>>()
        .join(" -or ")
}

/// The script that grants `Application Mail.Read` on `mailboxes` only.
/// `client_id` is Sentra's application id (a GUID from configuration; any
/// quote in it is dropped all the same).
pub fn grant_script(client_id: &str, mailboxes: &[MailboxAddress]) -> String {
    let app: String = client_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let filter = filter(mailboxes);
    let first = mailboxes
        .first()
        .map_or("accounts@contoso.com", MailboxAddress::as_str);
    let mut s = String::new();
    s.push_str("# Sentra: read-only access to the selected mailboxes, nothing else.\n");
    s.push_str("# Run in Exchange Online PowerShell as an Exchange administrator.\n");
    s.push_str("Connect-ExchangeOnline\n\n");
    let _ = writeln!(s, "$appId = '{app}'");
    let _ = writeln!(s, "# Replace with the Object ID from: {OBJECT_ID_HINT}");
    s.push_str("$objectId = '<objectId>'\n\n");
    s.push_str("# 1. Make Sentra's service principal known to Exchange\n");
    s.push_str("New-ServicePrincipal -AppId $appId -ObjectId $objectId -DisplayName 'Sentra'\n\n");
    s.push_str("# 2. The management scope: exactly the mailboxes selected in Sentra\n");
    let _ = writeln!(
        s,
        "New-ManagementScope -Name '{SCOPE_NAME}' -RecipientRestrictionFilter \"{filter}\""
    );
    s.push_str("# (Ran this before? Update the scope instead of creating it:)\n");
    let _ = writeln!(
        s,
        "# Set-ManagementScope -Identity '{SCOPE_NAME}' -RecipientRestrictionFilter \"{filter}\"\n"
    );
    s.push_str("# 3. Read access to mail, limited to that scope (no Graph Mail.Read in Entra!)\n");
    let _ = writeln!(
        s,
        "New-ManagementRoleAssignment -App $appId -Role 'Application Mail.Read' -CustomResourceScope '{SCOPE_NAME}'\n"
    );
    s.push_str("# 4. Check: InScope True for each selected mailbox ...\n");
    for m in mailboxes {
        let _ = writeln!(
            s,
            "Test-ServicePrincipalAuthorization -Identity $appId -Resource '{m}'"
        );
    }
    if mailboxes.is_empty() {
        let _ = writeln!(
            s,
            "Test-ServicePrincipalAuthorization -Identity $appId -Resource '{first}'"
        );
    }
    s.push_str("# ... and InScope False for a mailbox you did not select\n");
    s.push_str(
        "Test-ServicePrincipalAuthorization -Identity $appId -Resource '<a mailbox you did not select>'\n",
    );
    s
}

/// The lines that remove Sentra's Exchange access (shown on disconnect).
pub fn revoke_script(client_id: &str) -> String {
    let app: String = client_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "# Remove Sentra's access in Exchange Online PowerShell (Connect-ExchangeOnline first).\n\
         $appId = '{app}'\n\
         Get-ManagementRoleAssignment -RoleAssignee $appId | Remove-ManagementRoleAssignment\n\
         Remove-ManagementScope -Identity '{SCOPE_NAME}'\n\
         Remove-ServicePrincipal -Identity $appId\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<MailboxAddress> {
        list.iter()
            .map(|a| MailboxAddress::parse(a).unwrap())
            .collect()
    }

    #[test]
    fn the_grant_script_scopes_exactly_the_selected_mailboxes() {
        let s = grant_script(
            "0e5d2a4b-7c3f-4e8a-b1d9-5a6c7e8f9012",
            &addrs(&["accounts@contoso.com", "invoices@contoso.com"]),
        );
        assert!(s.contains("$appId = '0e5d2a4b-7c3f-4e8a-b1d9-5a6c7e8f9012'"));
        assert!(s.contains("New-ServicePrincipal -AppId $appId -ObjectId $objectId"));
        assert!(s.contains(
            "-RecipientRestrictionFilter \"PrimarySmtpAddress -eq 'accounts@contoso.com' -or PrimarySmtpAddress -eq 'invoices@contoso.com'\""
        ));
        assert!(s.contains(
            "New-ManagementRoleAssignment -App $appId -Role 'Application Mail.Read' -CustomResourceScope 'Sentra mailboxes'"
        ));
        assert!(s.contains(
            "Test-ServicePrincipalAuthorization -Identity $appId -Resource 'invoices@contoso.com'"
        ));
        assert!(!s.contains("Mail.ReadWrite"));
    }

    #[test]
    fn a_hostile_client_id_cannot_break_out_of_its_quotes() {
        let s = grant_script("x'; Remove-Mailbox -Identity *; '", &[]);
        assert!(s.contains("$appId = 'xRemove-Mailbox-Identity'"));
        assert!(revoke_script("a'b").contains("$appId = 'ab'"));
    }
}
