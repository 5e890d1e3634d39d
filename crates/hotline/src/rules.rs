//! The work-order lifecycle (受理 → 派单 → 签收 → 办理 → 答复 → 回访 → 办结) and its time
//! limits in working days, as plain rules.

use chrono::NaiveDate;
use serde::Serialize;
use tongban_platform::calendar::Calendar;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// 咨询
    Consult,
    /// 求助
    Help,
    /// 投诉
    Complaint,
    /// 举报
    Report,
    /// 建议
    Suggestion,
    /// 表扬
    Praise,
}

pub const ORDER_TYPES: [OrderType; 6] = [
    OrderType::Consult,
    OrderType::Help,
    OrderType::Complaint,
    OrderType::Report,
    OrderType::Suggestion,
    OrderType::Praise,
];

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Consult => "consult",
            OrderType::Help => "help",
            OrderType::Complaint => "complaint",
            OrderType::Report => "report",
            OrderType::Suggestion => "suggestion",
            OrderType::Praise => "praise",
        }
    }
    pub fn parse(s: &str) -> Option<OrderType> {
        ORDER_TYPES.into_iter().find(|t| t.as_str() == s)
    }
}

/// Time limits in working days (defaults from the city's 12345 rules; configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Sign for (签收) a dispatched order.
    pub sign: u32,
    /// Return (退单) a misrouted order.
    pub return_misrouted: u32,
    /// Answer consultations and requests for help.
    pub answer_quick: u32,
    /// Answer complaints, reports and suggestions.
    pub answer_full: u32,
    /// The longest extension a supervisor may grant.
    pub max_extension: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sign: 1,
            return_misrouted: 2,
            answer_quick: 3,
            answer_full: 5,
            max_extension: 10,
        }
    }
}

impl Limits {
    /// Working days to answer an order of this type (praise needs no answer but a thank-you).
    pub fn answer_days(&self, t: OrderType) -> u32 {
        match t {
            OrderType::Consult | OrderType::Help => self.answer_quick,
            OrderType::Complaint
            | OrderType::Report
            | OrderType::Suggestion
            | OrderType::Praise => self.answer_full,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    Dispatched,
    /// A department sent it back as not theirs; the dispatcher must route it again.
    Returned,
    /// Signed for (签收): being handled.
    Signed,
    Replied,
    Closed,
}

pub const ALL_STATUSES: [Status; 6] = [
    Status::Received,
    Status::Dispatched,
    Status::Returned,
    Status::Signed,
    Status::Replied,
    Status::Closed,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Dispatched => "dispatched",
            Status::Returned => "returned",
            Status::Signed => "signed",
            Status::Replied => "replied",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        ALL_STATUSES.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Received => "已受理",
            Status::Dispatched => "已派单",
            Status::Returned => "已退单",
            Status::Signed => "办理中",
            Status::Replied => "已答复",
            Status::Closed => "已办结",
        }
    }
    /// Open311's two states.
    pub fn is_open(self) -> bool {
        self != Status::Closed
    }
}

impl OrderType {
    pub fn label_zh(self) -> &'static str {
        match self {
            OrderType::Consult => "咨询",
            OrderType::Help => "求助",
            OrderType::Complaint => "投诉",
            OrderType::Report => "举报",
            OrderType::Suggestion => "建议",
            OrderType::Praise => "表扬",
        }
    }
}

/// The deadline that matters in a state: signing while dispatched, answering while signed.
pub fn due_in(
    status: Status,
    sign_by: Option<NaiveDate>,
    answer_by: Option<NaiveDate>,
) -> Option<NaiveDate> {
    match status {
        Status::Dispatched => sign_by,
        Status::Signed => answer_by,
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Dispatch,
    Sign,
    Return,
    Reply,
    /// The department asks for more working days.
    Extend,
    /// A supervisor grants the extension asked for.
    ApproveExtension,
    Supervise,
    /// An editor publishes a letter the citizen made public.
    Publish,
    /// The return visit (回访) found the citizen satisfied.
    Close,
    /// The return visit found the citizen dissatisfied: back to the department.
    Reopen,
}

/// Every action, in the order the console offers them.
pub const ACTIONS: [Action; 10] = [
    Action::Dispatch,
    Action::Sign,
    Action::Return,
    Action::Reply,
    Action::Extend,
    Action::ApproveExtension,
    Action::Supervise,
    Action::Publish,
    Action::Close,
    Action::Reopen,
];

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatch",
            Action::Sign => "sign",
            Action::Return => "return",
            Action::Reply => "reply",
            Action::Extend => "extend",
            Action::ApproveExtension => "approve_extension",
            Action::Supervise => "supervise",
            Action::Publish => "publish",
            Action::Close => "close",
            Action::Reopen => "reopen",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        ACTIONS.iter().copied().find(|a| a.as_str() == s)
    }
}

/// What the rules look at besides the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// An extension has been asked for and not yet granted.
    pub extension_asked: bool,
    pub supervised: bool,
    /// The citizen asked for the letter to be public.
    pub public: bool,
    pub published: bool,
}

/// The state after `action`, or why it cannot be taken now: the one place that decides
/// which action an order allows (the staff API and console call it).
pub fn decide(status: Status, facts: Facts, action: Action) -> Result<Status, String> {
    use Action as A;
    use Status as S;
    let f = facts;
    Ok(match (status, action) {
        (S::Received | S::Returned, A::Dispatch) => S::Dispatched,
        (S::Dispatched, A::Sign) => S::Signed,
        (S::Dispatched | S::Signed, A::Return) => S::Returned,
        (S::Signed, A::Reply) => S::Replied,
        (S::Signed, A::Extend) if !f.extension_asked => S::Signed,
        (S::Signed, A::ApproveExtension) if f.extension_asked => S::Signed,
        (s, A::Supervise) if s != S::Closed && !f.supervised => s,
        (s @ (S::Replied | S::Closed), A::Publish) if f.public && !f.published => s,
        (S::Replied, A::Close) => S::Closed,
        (S::Replied, A::Reopen) => S::Signed,
        (s, a) => {
            return Err(format!(
                "cannot {} an order that is {}",
                a.as_str(),
                s.as_str()
            ))
        }
    })
}

/// [`decide`] for the lifecycle alone (no extension, supervision or publication pending).
pub fn next(status: Status, action: Action) -> Result<Status, String> {
    decide(status, Facts::default(), action)
}

/// The deadlines an order carries once dispatched on `dispatched_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    pub sign_by: NaiveDate,
    pub return_by: NaiveDate,
    pub answer_by: NaiveDate,
}

pub fn deadlines(
    cal: &Calendar,
    limits: &Limits,
    t: OrderType,
    dispatched_on: NaiveDate,
) -> Deadlines {
    Deadlines {
        sign_by: cal.add_workdays(dispatched_on, limits.sign),
        return_by: cal.add_workdays(dispatched_on, limits.return_misrouted),
        answer_by: cal.add_workdays(dispatched_on, limits.answer_days(t)),
    }
}

/// An approved extension moves the answer deadline by `days` working days (at most the limit).
pub fn extend(
    cal: &Calendar,
    limits: &Limits,
    answer_by: NaiveDate,
    days: u32,
) -> Result<NaiveDate, String> {
    if days == 0 || days > limits.max_extension {
        return Err(format!(
            "an extension is 1 to {} working days",
            limits.max_extension
        ));
    }
    Ok(cal.add_workdays(answer_by, days))
}

/// (overdue, due within one working day) for the deadline that matters in `status`.
pub fn flags(cal: &Calendar, status: Status, d: &Deadlines, today: NaiveDate) -> (bool, bool) {
    let due = match status {
        Status::Dispatched => d.sign_by,
        Status::Signed => d.answer_by,
        _ => return (false, false),
    };
    let left = cal.days_left(today, due);
    (left < 0, (0..=1).contains(&left))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_lifecycle_and_its_detours() {
        use Action as A;
        use Status as S;
        let mut s = S::Received;
        for a in [
            A::Dispatch,
            A::Return,
            A::Dispatch,
            A::Sign,
            A::Reply,
            A::Reopen,
            A::Reply,
            A::Close,
        ] {
            s = next(s, a).unwrap();
        }
        assert_eq!(s, S::Closed);
        assert!(next(S::Received, A::Sign).is_err());
        assert!(next(S::Replied, A::Return).is_err());
        assert!(next(S::Closed, A::Reopen).unwrap_err().contains("closed"));
    }

    #[test]
    fn limits_in_working_days_around_national_day() {
        let cal = Calendar::builtin();
        let l = Limits::default();
        // Dispatched on Wednesday 2026-09-30; 10-01..10-07 are holidays.
        let dl = deadlines(&cal, &l, OrderType::Complaint, d(2026, 9, 30));
        assert_eq!(dl.sign_by, d(2026, 10, 8));
        assert_eq!(dl.return_by, d(2026, 10, 9));
        assert_eq!(
            dl.answer_by,
            d(2026, 10, 13),
            "5 working days: 10-08, 09, 10 (调休), 12, 13"
        );
        let consult = deadlines(&cal, &l, OrderType::Consult, d(2026, 9, 30));
        assert_eq!(consult.answer_by, d(2026, 10, 10));
        assert!(extend(&cal, &l, dl.answer_by, 11).is_err());
        assert_eq!(extend(&cal, &l, dl.answer_by, 2).unwrap(), d(2026, 10, 15));
        assert_eq!(
            flags(&cal, Status::Signed, &dl, d(2026, 10, 14)),
            (true, false)
        );
        assert_eq!(
            flags(&cal, Status::Signed, &dl, d(2026, 10, 12)),
            (false, true)
        );
        assert_eq!(
            flags(&cal, Status::Closed, &dl, d(2026, 12, 1)),
            (false, false)
        );
    }

    fn any_action() -> impl Strategy<Value = Action> {
        proptest::sample::select(ACTIONS.to_vec())
    }

    /// The facts as the actions leave them (what staff.rs records).
    fn after(f: Facts, a: Action, public: bool) -> Facts {
        match a {
            Action::Extend => Facts {
                extension_asked: true,
                ..f
            },
            Action::ApproveExtension | Action::Reply | Action::Return => Facts {
                extension_asked: false,
                ..f
            },
            Action::Supervise => Facts {
                supervised: true,
                ..f
            },
            Action::Publish => Facts {
                published: true,
                ..f
            },
            _ => Facts { public, ..f },
        }
    }

    proptest! {
        #[test]
        fn every_action_keeps_the_lifecycle(actions in proptest::collection::vec(any_action(), 0..60), public in any::<bool>()) {
            let mut s = Status::Received;
            let mut f = Facts { public, ..Facts::default() };
            for a in actions {
                if let Ok(n) = decide(s, f, a) {
                    // After closing only publication remains; nothing reopens a closed order.
                    if s == Status::Closed { prop_assert_eq!(a, Action::Publish); prop_assert_eq!(n, Status::Closed); }
                    // A status is entered only from its one predecessor.
                    if n == Status::Replied && s != n { prop_assert_eq!(s, Status::Signed); }
                    if n == Status::Closed && s != n { prop_assert_eq!(s, Status::Replied); }
                    if a == Action::Publish { prop_assert!(f.public && !f.published); }
                    if a == Action::ApproveExtension { prop_assert!(f.extension_asked); }
                    if a == Action::Extend { prop_assert!(!f.extension_asked && s == Status::Signed); }
                    if a == Action::Supervise { prop_assert!(!f.supervised); }
                    // Only the lifecycle actions move the status.
                    if matches!(a, Action::Extend | Action::ApproveExtension | Action::Supervise | Action::Publish) {
                        prop_assert_eq!(n, s);
                    }
                    f = after(f, a, public);
                    s = n;
                }
            }
        }

        #[test]
        fn closed_is_final_and_replies_need_a_signed_order(actions in proptest::collection::vec(any_action(), 0..40)) {
            let mut s = Status::Received;
            for a in actions {
                if let Ok(n) = next(s, a) {
                    prop_assert!(s != Status::Closed);
                    if n == Status::Replied && s != n { prop_assert_eq!(s, Status::Signed); }
                    if n == Status::Closed { prop_assert_eq!(s, Status::Replied); }
                    s = n;
                }
            }
        }

        #[test]
        fn answer_deadline_never_before_sign_deadline(offset in 0i64..2500, t in proptest::sample::select(ORDER_TYPES.to_vec())) {
            let cal = Calendar::builtin();
            let day = d(2020, 1, 1) + chrono::Duration::days(offset);
            let dl = deadlines(&cal, &Limits::default(), t, day);
            prop_assert!(dl.sign_by <= dl.return_by && dl.return_by <= dl.answer_by);
            prop_assert!(cal.is_workday(dl.answer_by));
        }
    }
}
