//! The rules of an application, in plain Rust: its states, who may do what when, and how the
//! deadline moves. Storage and HTTP call these; nothing here knows either.

use chrono::NaiveDate;
use serde::Serialize;
use tongban_platform::calendar::Calendar;
use tongban_platform::identity::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Accepted,
    NeedsSupplement,
    Approved,
    Rejected,
    NotAccepted,
    Withdrawn,
}

pub const ALL_STATUSES: [Status; 7] = [
    Status::Submitted,
    Status::Accepted,
    Status::NeedsSupplement,
    Status::Approved,
    Status::Rejected,
    Status::NotAccepted,
    Status::Withdrawn,
];

/// States in which a case is still being handled.
pub const OPEN_STATUSES: [Status; 3] =
    [Status::Submitted, Status::Accepted, Status::NeedsSupplement];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::NeedsSupplement => "needs_supplement",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::NotAccepted => "not_accepted",
            Status::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        ALL_STATUSES.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Submitted => "已提交",
            Status::Accepted => "已受理",
            Status::NeedsSupplement => "待补正",
            Status::Approved => "准予许可",
            Status::Rejected => "不予许可",
            Status::NotAccepted => "不予受理",
            Status::Withdrawn => "已撤回",
        }
    }
    pub fn is_final(self) -> bool {
        !OPEN_STATUSES.contains(&self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Submit,
    Accept,
    NotAccept,
    RequestSupplement,
    Supplement,
    Review,
    Approve,
    Reject,
    Withdraw,
    /// 数据核验: a check against another department's data, through the exchange; the
    /// status does not move.
    Check,
}

pub const ALL_ACTIONS: [Action; 10] = [
    Action::Submit,
    Action::Accept,
    Action::NotAccept,
    Action::RequestSupplement,
    Action::Supplement,
    Action::Review,
    Action::Approve,
    Action::Reject,
    Action::Withdraw,
    Action::Check,
];

pub const STAFF_ACTIONS: [Action; 6] = [
    Action::Accept,
    Action::NotAccept,
    Action::RequestSupplement,
    Action::Review,
    Action::Approve,
    Action::Reject,
];

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Accept => "accept",
            Action::NotAccept => "not_accept",
            Action::RequestSupplement => "request_supplement",
            Action::Supplement => "supplement",
            Action::Review => "review",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Withdraw => "withdraw",
            Action::Check => "check",
        }
    }
    pub fn parse_staff(s: &str) -> Option<Action> {
        STAFF_ACTIONS.into_iter().find(|a| a.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Action::Submit => "提交申请",
            Action::Accept => "受理",
            Action::NotAccept => "不予受理",
            Action::RequestSupplement => "一次性告知补正",
            Action::Supplement => "补正材料",
            Action::Review => "审核意见",
            Action::Approve => "准予许可",
            Action::Reject => "不予许可",
            Action::Withdraw => "撤回申请",
            Action::Check => "数据核验",
        }
    }
    /// The staff role an action needs; `None` for the applicant's own actions.
    pub fn role(self) -> Option<Role> {
        match self {
            Action::Accept | Action::NotAccept | Action::RequestSupplement => Some(Role::Clerk),
            Action::Review => Some(Role::Reviewer),
            Action::Approve | Action::Reject => Some(Role::Approver),
            Action::Submit | Action::Supplement | Action::Withdraw | Action::Check => None,
        }
    }
    /// Whether the actor must explain the action in a note.
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Action::NotAccept | Action::RequestSupplement | Action::Review | Action::Reject
        )
    }
}

/// The state after `action`, or why it is not allowed now. `resume` is where a case in
/// `needs_supplement` returns to.
pub fn next_status(
    current: Status,
    resume: Option<Status>,
    action: Action,
) -> Result<Status, String> {
    use Action as A;
    use Status as S;
    let next = match (current, action) {
        (S::Submitted, A::Accept) => S::Accepted,
        (S::Submitted, A::NotAccept) => S::NotAccepted,
        (S::Submitted | S::Accepted, A::RequestSupplement) => S::NeedsSupplement,
        (S::NeedsSupplement, A::Supplement) => resume.unwrap_or(S::Submitted),
        (S::Accepted, A::Review) => S::Accepted,
        (S::Accepted, A::Approve) => S::Approved,
        (S::Accepted, A::Reject) => S::Rejected,
        (S::Submitted, A::Withdraw) => S::Withdrawn,
        (s @ (S::Submitted | S::Accepted | S::NeedsSupplement), A::Check) => s,
        (s, a) => {
            return Err(format!(
                "cannot {} a case that is {} ({}); {}",
                a.as_str(),
                s.as_str(),
                s.label_zh(),
                hint(s)
            ))
        }
    };
    Ok(next)
}

fn hint(s: Status) -> &'static str {
    match s {
        Status::Submitted => {
            "it can be accepted, not accepted, sent back for supplements or withdrawn"
        }
        Status::Accepted => "it can be reviewed, approved, rejected or sent back for supplements",
        Status::NeedsSupplement => "the applicant must supplement it first",
        _ => "it is concluded",
    }
}

/// Deadline when accepted on `accepted_on` with `promised_days` working days: the count
/// starts the working day after acceptance.
pub fn deadline_on_accept(cal: &Calendar, accepted_on: NaiveDate, promised_days: u32) -> NaiveDate {
    cal.add_workdays(accepted_on, promised_days)
}

/// Deadline after a supplement pause from `paused_on` to `resumed_on`: the working days the
/// case waited for the applicant do not count.
pub fn deadline_after_pause(
    cal: &Calendar,
    deadline: NaiveDate,
    paused_on: NaiveDate,
    resumed_on: NaiveDate,
) -> NaiveDate {
    let paused = cal.workdays_between(paused_on, resumed_on).max(0);
    cal.add_workdays(deadline, u32::try_from(paused).unwrap_or(u32::MAX))
}

/// Flags for queues: (days_left, overdue, due_soon). Only a running clock (accepted) counts.
pub fn clock(
    cal: &Calendar,
    status: Status,
    deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> (Option<i64>, bool, bool) {
    match (status, deadline) {
        (Status::Accepted | Status::NeedsSupplement, Some(d)) => {
            let left = cal.days_left(today, d);
            let running = status == Status::Accepted;
            (
                Some(left),
                running && left < 0,
                running && (0..=1).contains(&left),
            )
        }
        _ => (None, false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_transitions_hold() {
        use Action as A;
        use Status as S;
        assert_eq!(next_status(S::Submitted, None, A::Accept), Ok(S::Accepted));
        assert_eq!(
            next_status(S::Submitted, None, A::NotAccept),
            Ok(S::NotAccepted)
        );
        assert_eq!(
            next_status(S::Accepted, None, A::RequestSupplement),
            Ok(S::NeedsSupplement)
        );
        assert_eq!(
            next_status(S::NeedsSupplement, Some(S::Accepted), A::Supplement),
            Ok(S::Accepted)
        );
        assert_eq!(
            next_status(S::NeedsSupplement, Some(S::Submitted), A::Supplement),
            Ok(S::Submitted)
        );
        assert_eq!(next_status(S::Accepted, None, A::Approve), Ok(S::Approved));
        assert_eq!(next_status(S::Accepted, None, A::Reject), Ok(S::Rejected));
        assert_eq!(
            next_status(S::Submitted, None, A::Withdraw),
            Ok(S::Withdrawn)
        );
        assert!(next_status(S::Submitted, None, A::Approve)
            .unwrap_err()
            .contains("cannot approve"));
        assert!(next_status(S::Accepted, None, A::Withdraw).is_err());
    }

    fn any_status() -> impl Strategy<Value = Status> {
        proptest::sample::select(ALL_STATUSES.to_vec())
    }
    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(ALL_ACTIONS.to_vec())
    }

    proptest! {
        #[test]
        fn final_states_are_final_and_walks_stay_legal(actions in proptest::collection::vec(any_action(), 0..30), start in any_status()) {
            let mut s = start;
            let mut resume = None;
            for a in actions {
                match next_status(s, resume, a) {
                    Ok(n) => {
                        prop_assert!(!s.is_final(), "{:?} left final state {:?}", a, s);
                        if n == Status::NeedsSupplement { resume = Some(s); }
                        if s == Status::NeedsSupplement { prop_assert_eq!(n, resume.unwrap_or(Status::Submitted)); }
                        s = n;
                    }
                    Err(msg) => prop_assert!(msg.contains(s.as_str())),
                }
            }
        }
    }
}
