//! What the candidates' page says about one item, in the reader's language:
//! the journey's steps as they really went, the open cases in plain words,
//! and what to do now. Pure: the facts come in, words come out.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::cases::CaseKind;
use crate::domain::events::{NonDeliveryAction, NonDeliveryReason};
use crate::domain::ItemStatus;
use crate::notify::templates::Lang;

/// Where a step of the journey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Done,
    Current,
    Todo,
}

/// How a step should look: good news, something to watch, or a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    Ok,
    Warn,
    Bad,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub label: &'static str,
    pub state: StepState,
    pub tone: Tone,
}

/// The office holding the item for collection, as its held scan told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldingOffice {
    /// The office's name, or its code.
    pub place: String,
    pub address: Option<String>,
    pub opening_hours: Option<String>,
    /// The last day it is kept before going back to the sender.
    pub hold_until: Option<NaiveDate>,
}

/// The facts the words are made of.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub status: ItemStatus,
    pub expected_by: Option<NaiveDate>,
    pub replaced_by: Option<&'a str>,
    pub open_cases: &'a [CaseKind],
    /// The last failed attempt's reason and what the carrier did next.
    pub failure: Option<(NonDeliveryReason, NonDeliveryAction)>,
    pub held: Option<&'a HoldingOffice>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub carrier: &'a str,
    pub sender: &'a str,
    /// The item's delivery office, when it has reached it.
    pub delivery_office: Option<&'a str>,
}

/// Whether the item's journey is over: no expected day is shown after it.
pub fn is_final(status: ItemStatus, replaced: bool) -> bool {
    replaced
        || matches!(
            status,
            ItemStatus::Delivered | ItemStatus::Returned | ItemStatus::Lost
        )
}

fn words(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// `dd/mm/yyyy`, as Vietnam writes a day.
pub fn day(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `HH:MM dd/mm/yyyy`, in Vietnam's time.
pub fn moment(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%H:%M %d/%m/%Y")
        .to_string()
}

/// The journey as it went: the usual five steps, with the step where it
/// stopped or turned named for what happened there.
pub fn journey(status: ItemStatus, replaced: bool, lang: Lang) -> Vec<Step> {
    use ItemStatus::*;
    let accepted = words(lang, "Bưu điện đã nhận", "Accepted by the post office");
    let transit = words(lang, "Đang vận chuyển", "In transit");
    let office = words(lang, "Đến bưu cục phát", "At the delivery office");
    let out = words(lang, "Đang đi phát", "Out for delivery");
    let delivered = words(lang, "Đã phát", "Delivered");
    let step = |label, state, tone| Step { label, state, tone };
    let usual = |current: usize, label: Option<&'static str>, tone: Tone| {
        [accepted, transit, office, out, delivered]
            .into_iter()
            .enumerate()
            .map(|(i, name)| match i.cmp(&current) {
                std::cmp::Ordering::Less => step(name, StepState::Done, Tone::Normal),
                std::cmp::Ordering::Equal => step(label.unwrap_or(name), StepState::Current, tone),
                std::cmp::Ordering::Greater => step(name, StepState::Todo, Tone::Normal),
            })
            .collect::<Vec<_>>()
    };
    let mut steps = match status {
        Registered => usual(usize::MAX, None, Tone::Normal)
            .into_iter()
            .map(|s| Step {
                state: StepState::Todo,
                ..s
            })
            .collect(),
        Accepted => usual(0, None, Tone::Normal),
        InTransit => usual(1, None, Tone::Normal),
        AtDeliveryOffice => usual(2, None, Tone::Normal),
        OutForDelivery => usual(3, None, Tone::Normal),
        DeliveryFailed => usual(
            3,
            Some(words(
                lang,
                "Phát chưa thành công",
                "Delivery attempt failed",
            )),
            Tone::Warn,
        ),
        HeldAtOffice => {
            let mut steps = usual(
                3,
                Some(words(
                    lang,
                    "Lưu tại bưu cục, chờ bạn đến nhận",
                    "Held at the office for you to collect",
                )),
                Tone::Warn,
            );
            if let Some(last) = steps.last_mut() {
                last.label = words(lang, "Đã nhận", "Collected");
            }
            steps
        }
        Delivered => usual(4, None, Tone::Ok),
        Exception => usual(
            1,
            Some(words(
                lang,
                "Có sự cố, bưu điện đang xử lý",
                "A problem; the post office is handling it",
            )),
            Tone::Warn,
        ),
        Returned => vec![
            step(accepted, StepState::Done, Tone::Normal),
            step(transit, StepState::Done, Tone::Normal),
            step(
                words(lang, "Đã chuyển hoàn về nơi gửi", "Returned to the sender"),
                StepState::Current,
                Tone::Bad,
            ),
        ],
        Lost => vec![
            step(accepted, StepState::Done, Tone::Normal),
            step(transit, StepState::Done, Tone::Normal),
            step(
                words(lang, "Thất lạc", "Lost"),
                StepState::Current,
                Tone::Bad,
            ),
        ],
    };
    if replaced {
        for s in steps.iter_mut().filter(|s| s.state == StepState::Current) {
            s.state = StepState::Done;
        }
        steps.retain(|s| s.state == StepState::Done);
        steps.push(step(
            words(lang, "Đã gửi bưu gửi thay thế", "A replacement was sent"),
            StepState::Current,
            Tone::Ok,
        ));
    }
    steps
}

/// A case as a candidate should read it.
pub fn case_label(kind: CaseKind, lang: Lang) -> &'static str {
    use CaseKind::*;
    match kind {
        Overdue => words(
            lang,
            "Chậm hơn thời hạn phát; bưu điện đang xử lý",
            "Later than its delivery deadline; the post office is on it",
        ),
        Stalled => words(
            lang,
            "Lâu chưa có thông tin hành trình; bưu điện đang kiểm tra",
            "No news of it for a while; the post office is checking",
        ),
        SuspectedLoss => words(
            lang,
            "Bưu điện đang tìm bưu gửi (nghi thất lạc)",
            "The post office is searching for it (possibly lost)",
        ),
        DeadlineAtRisk => words(
            lang,
            "Có thể không kịp hạn; bưu điện đang ưu tiên xử lý",
            "It may miss its deadline; the post office is giving it priority",
        ),
        Tampering => words(
            lang,
            "Niêm phong có dấu hiệu bất thường; đang xác minh",
            "Its seal looked wrong; this is being checked",
        ),
        Misrouted => words(
            lang,
            "Bị chuyển nhầm tuyến; đang được chuyển lại đúng nơi",
            "Sent the wrong way; it is being redirected",
        ),
        Damaged => words(
            lang,
            "Bưu gửi bị hư hỏng; đang xử lý",
            "It was damaged; this is being handled",
        ),
        RepeatedFailure => words(
            lang,
            "Đã phát không thành công nhiều lần",
            "Several delivery attempts failed",
        ),
        Lost => words(
            lang,
            "Bưu gửi bị thất lạc; nơi gửi sẽ gửi bản thay thế",
            "It was lost; the sender will send a replacement",
        ),
        NotAccepted => words(
            lang,
            "Bưu điện chưa nhận bưu gửi từ nơi gửi; đang xử lý",
            "The post office has not received it from the sender yet; this is being handled",
        ),
        RecipientReport => words(
            lang,
            "Đã nhận phản ánh của bạn; đang xử lý",
            "Your report was received and is being handled",
        ),
    }
}

/// The reason of a failed attempt, in plain words.
pub fn failure_label(reason: NonDeliveryReason, lang: Lang) -> &'static str {
    use NonDeliveryReason::*;
    match reason {
        RecipientAbsent => words(
            lang,
            "không có người nhận tại địa chỉ",
            "nobody was at the address",
        ),
        AddressIncorrect => words(lang, "địa chỉ không đúng", "the address is wrong"),
        AddressNotFound => words(
            lang,
            "không tìm thấy địa chỉ",
            "the address could not be found",
        ),
        RecipientRefused => words(lang, "người nhận từ chối nhận", "the recipient refused it"),
        RecipientMoved => words(lang, "người nhận đã chuyển đi", "the recipient has moved"),
        IdentityNotVerified => words(
            lang,
            "chưa xác minh được giấy tờ tùy thân của người nhận",
            "the recipient's identity could not be checked",
        ),
        ForceMajeure => words(
            lang,
            "thiên tai hoặc sự cố bất khả kháng",
            "a disaster or other force majeure",
        ),
        Other => words(lang, "lý do khác", "another reason"),
    }
}

/// What to bring to collect an item for a candidate.
pub fn what_to_bring(lang: Lang) -> &'static str {
    words(
        lang,
        "Mang theo căn cước công dân (hoặc hộ chiếu) của thí sinh và số hiệu bưu gửi. Người nhận thay mang căn cước của mình và giấy ủy quyền của thí sinh; nếu thí sinh chưa đủ 18 tuổi, cha mẹ mang thêm giấy khai sinh của thí sinh.",
        "Bring the candidate's citizen identity card (or passport) and the tracking number. Someone collecting for the candidate brings their own identity card and the candidate's written authorisation; for a candidate under 18, a parent also brings the candidate's birth certificate.",
    )
}

/// What the candidate should do now, most pressing first.
pub fn advice(s: &Situation<'_>, lang: Lang) -> Vec<String> {
    use ItemStatus::*;
    let vi = lang == Lang::Vi;
    let (sender, carrier) = (s.sender, s.carrier);
    let expected = s.expected_by.map(day);
    let mut out = Vec::new();
    match s.status {
        Registered => out.push(match (vi, &expected) {
            (true, Some(d)) => format!("{sender} đã đăng ký gửi nhưng bưu điện chưa nhận bưu gửi. Bạn chưa cần làm gì; nếu đến ngày {d} vẫn chưa có tin, hãy liên hệ {sender}."),
            (true, None) => format!("{sender} đã đăng ký gửi nhưng bưu điện chưa nhận bưu gửi. Bạn chưa cần làm gì; nếu lâu chưa có tin, hãy liên hệ {sender}."),
            (false, Some(d)) => format!("{sender} has registered it but the post office has not received it yet. Nothing to do yet; if there is no news by {d}, contact {sender}."),
            (false, None) => format!("{sender} has registered it but the post office has not received it yet. Nothing to do yet; if there is no news for long, contact {sender}."),
        }),
        Accepted | InTransit => out.push(match (vi, &expected) {
            (true, Some(d)) => format!("Bạn chưa cần làm gì. Bưu gửi dự kiến đến trước ngày {d}."),
            (true, None) => "Bạn chưa cần làm gì: bưu gửi đang trên đường đến.".to_string(),
            (false, Some(d)) => format!("Nothing to do yet. It should arrive by {d}."),
            (false, None) => "Nothing to do yet: it is on its way.".to_string(),
        }),
        AtDeliveryOffice => out.push(match (vi, s.delivery_office) {
            (true, Some(office)) => format!("Bưu gửi đã đến {office}; bưu tá sẽ mang đến địa chỉ nhận. Hãy để ý điện thoại."),
            (true, None) => "Bưu gửi đã đến bưu cục phát; bưu tá sẽ mang đến địa chỉ nhận. Hãy để ý điện thoại.".to_string(),
            (false, Some(office)) => format!("It has reached {office}; a postman will bring it to the address. Keep your phone at hand."),
            (false, None) => "It has reached the delivery office; a postman will bring it to the address. Keep your phone at hand.".to_string(),
        }),
        OutForDelivery => out.push(
            words(
                lang,
                "Bưu tá đang mang bưu gửi đến. Hãy có mặt tại địa chỉ (hoặc nhờ người nhận thay), để ý điện thoại và chuẩn bị căn cước công dân để đối chiếu.",
                "A postman is bringing it now. Be at the address (or ask someone to receive it for you), keep your phone at hand and have an identity card ready.",
            )
            .to_string(),
        ),
        DeliveryFailed => {
            if let Some((reason, action)) = s.failure {
                let why = failure_label(reason, lang);
                out.push(if vi { format!("Lần phát gần nhất không thành công: {why}.") } else { format!("The last delivery attempt failed: {why}.") });
                out.push(match (action, vi) {
                    (NonDeliveryAction::RetryNextRound, true) => format!("Bưu điện sẽ phát lại ở lượt sau; bạn có thể gọi tổng đài của {carrier} để hẹn giờ."),
                    (NonDeliveryAction::RetryNextRound, false) => format!("The post office will try again on its next round; you can call {carrier}'s hotline to agree a time."),
                    (NonDeliveryAction::HeldAtOffice, true) => "Bưu gửi được giữ tại bưu cục để bạn đến nhận.".to_string(),
                    (NonDeliveryAction::HeldAtOffice, false) => "It is kept at the office for you to collect.".to_string(),
                    (NonDeliveryAction::ContactRecipient, true) => "Bưu điện sẽ gọi cho bạn; hãy để ý điện thoại.".to_string(),
                    (NonDeliveryAction::ContactRecipient, false) => "The post office will call you; keep your phone at hand.".to_string(),
                    (NonDeliveryAction::ContactSender, true) => format!("Bưu điện đang liên hệ {sender}; bạn cũng có thể liên hệ {sender}."),
                    (NonDeliveryAction::ContactSender, false) => format!("The post office is contacting {sender}; you may contact {sender} too."),
                    (NonDeliveryAction::ReturnToSender, true) => format!("Bưu gửi sẽ được chuyển hoàn về {sender}: hãy liên hệ {sender} ngay."),
                    (NonDeliveryAction::ReturnToSender, false) => format!("It will go back to {sender}: contact {sender} now."),
                });
                if matches!(reason, NonDeliveryReason::AddressIncorrect | NonDeliveryReason::AddressNotFound | NonDeliveryReason::RecipientMoved) {
                    out.push(if vi { format!("Nếu địa chỉ nhận cần sửa, hãy báo {sender}.") } else { format!("If the address needs correcting, tell {sender}.") });
                }
            } else {
                out.push(if vi { format!("Lần phát gần nhất không thành công; gọi tổng đài của {carrier} để hẹn phát lại.") } else { format!("The last delivery attempt failed; call {carrier}'s hotline to arrange another.") });
            }
        }
        HeldAtOffice => {
            let held = s.held.cloned().unwrap_or_default();
            let place = if held.place.is_empty() { words(lang, "bưu cục", "the post office").to_string() } else { held.place.clone() };
            let mut where_ = place;
            if let Some(address) = &held.address {
                where_ = format!("{where_}, {address}");
            }
            let mut line = if vi { format!("Mời đến nhận tại {where_}") } else { format!("Please collect it at {where_}") };
            if let Some(hours) = &held.opening_hours {
                line.push_str(&if vi { format!(" (giờ mở cửa: {hours})") } else { format!(" (opening hours: {hours})") });
            }
            if let Some(until) = held.hold_until {
                line.push_str(&if vi { format!(", chậm nhất ngày {}", day(until)) } else { format!(", by {} at the latest", day(until)) });
            }
            line.push('.');
            out.push(line);
            out.push(what_to_bring(lang).to_string());
        }
        Delivered => {
            if let Some(at) = s.delivered_at {
                out.push(if vi { format!("Đã phát lúc {}.", moment(at)) } else { format!("Delivered at {}.", moment(at)) });
            }
            out.push(if vi {
                format!("Nếu bạn chưa nhận được, hãy báo ngay bằng nút \"Tôi chưa nhận được\" bên dưới hoặc gọi tổng đài của {carrier}.")
            } else {
                format!("If you have not received it, report it at once with the \"I have not received it\" button below or call {carrier}'s hotline.")
            });
        }
        Returned => out.push(if vi {
            format!("Bưu gửi đã được chuyển hoàn về {sender}. Hãy liên hệ {sender} để được gửi lại hoặc đến nhận trực tiếp.")
        } else {
            format!("It went back to {sender}. Contact {sender} to have it sent again or to collect it in person.")
        }),
        Lost => out.push(if vi {
            format!("Bưu điện đã xác nhận bưu gửi bị thất lạc. {sender} sẽ gửi bản thay thế; quyền lợi của thí sinh được bảo đảm. Nếu sắp đến hạn nộp hồ sơ hay nhập học, hãy báo {sender} ngay.")
        } else {
            format!("The post office has confirmed it is lost. {sender} will send a replacement; the candidate's rights are protected. If a filing or enrolment deadline is near, tell {sender} now.")
        }),
        Exception => out.push(if vi {
            format!("Bưu điện đang xử lý sự cố với bưu gửi. Bạn chưa cần làm gì; nếu cần gấp, hãy gọi tổng đài của {carrier}.")
        } else {
            format!("The post office is dealing with a problem with it. Nothing to do yet; if it is urgent, call {carrier}'s hotline.")
        }),
    }
    if let Some(replacement) = s.replaced_by {
        out.insert(
            0,
            if vi {
                format!("Một bưu gửi thay thế đã được gửi, số hiệu {replacement}: hãy tra cứu số này để theo dõi.")
            } else {
                format!("A replacement was sent with tracking number {replacement}: look that number up to follow it.")
            },
        );
    }
    for kind in s.open_cases {
        let line = match kind {
            CaseKind::Tampering => words(
                lang,
                "Khi nhận, hãy kiểm tra niêm phong trước mặt bưu tá; nếu còn dấu hiệu bất thường, đề nghị lập biên bản.",
                "When it arrives, check the seal in front of the postman; if anything looks wrong, ask for a written record.",
            ),
            CaseKind::Damaged => words(
                lang,
                "Khi nhận, hãy kiểm tra giấy tờ bên trong; nếu bị hư hỏng, liên hệ nơi gửi để được cấp lại.",
                "When it arrives, check the papers inside; if they are damaged, contact the sender for new ones.",
            ),
            CaseKind::Overdue | CaseKind::SuspectedLoss | CaseKind::DeadlineAtRisk | CaseKind::Stalled => words(
                lang,
                "Nếu sắp đến hạn nộp hồ sơ hay nhập học, hãy báo nơi gửi: quyền lợi của thí sinh được bảo đảm khi bưu gửi chậm.",
                "If a filing or enrolment deadline is near, tell the sender: a late item does not cost the candidate their rights.",
            ),
            _ => continue,
        };
        if !out.iter().any(|l| l == line) {
            out.push(line.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(status: ItemStatus) -> Situation<'static> {
        Situation {
            status,
            expected_by: NaiveDate::from_ymd_opt(2026, 7, 16),
            replaced_by: None,
            open_cases: &[],
            failure: None,
            held: None,
            delivered_at: None,
            carrier: "Viettel Post",
            sender: "Sở GD&ĐT Phú Thọ",
            delivery_office: None,
        }
    }

    fn current(steps: &[Step]) -> Vec<&'static str> {
        steps
            .iter()
            .filter(|s| s.state == StepState::Current)
            .map(|s| s.label)
            .collect()
    }

    #[test]
    fn the_current_step_is_what_happened() {
        assert_eq!(
            current(&journey(ItemStatus::Returned, false, Lang::Vi)),
            ["Đã chuyển hoàn về nơi gửi"]
        );
        assert_eq!(
            current(&journey(ItemStatus::Lost, false, Lang::Vi)),
            ["Thất lạc"]
        );
        assert_eq!(
            current(&journey(ItemStatus::Lost, true, Lang::Vi)),
            ["Đã gửi bưu gửi thay thế"]
        );
        assert_eq!(
            current(&journey(ItemStatus::HeldAtOffice, false, Lang::En)),
            ["Held at the office for you to collect"]
        );
        assert_eq!(
            current(&journey(ItemStatus::DeliveryFailed, false, Lang::Vi)),
            ["Phát chưa thành công"]
        );
        assert_eq!(
            current(&journey(ItemStatus::Delivered, false, Lang::Vi)),
            ["Đã phát"]
        );
        assert!(current(&journey(ItemStatus::Registered, false, Lang::Vi)).is_empty());
        let returned = journey(ItemStatus::Returned, false, Lang::Vi);
        assert!(
            !returned.iter().any(|s| s.label == "Đã phát"),
            "a returned item was never delivered"
        );
        let lost = journey(ItemStatus::Lost, false, Lang::Vi);
        assert!(
            lost.iter().all(|s| s.state != StepState::Todo),
            "nothing is still to come for a lost item"
        );
        assert_eq!(lost.last().map(|s| s.tone), Some(Tone::Bad));
    }

    #[test]
    fn every_status_has_steps_and_advice_in_both_languages() {
        for status in ItemStatus::ALL {
            for lang in [Lang::Vi, Lang::En] {
                assert!(!journey(*status, false, lang).is_empty(), "{status:?}");
                assert!(
                    !advice(&situation(*status), lang).is_empty(),
                    "{status:?} {lang:?}"
                );
            }
        }
    }

    #[test]
    fn final_states_have_no_expected_day() {
        assert!(is_final(ItemStatus::Delivered, false));
        assert!(is_final(ItemStatus::Returned, false));
        assert!(is_final(ItemStatus::Lost, false));
        assert!(
            is_final(ItemStatus::Exception, true),
            "a replaced item's journey is over"
        );
        assert!(!is_final(ItemStatus::HeldAtOffice, false));
    }

    #[test]
    fn a_held_item_says_where_when_and_what_to_bring() {
        let office = HoldingOffice {
            place: "Bưu cục Việt Trì".into(),
            address: Some("2 Trần Phú, Việt Trì".into()),
            opening_hours: Some("7:00–19:00".into()),
            hold_until: NaiveDate::from_ymd_opt(2026, 7, 25),
        };
        let s = Situation {
            held: Some(&office),
            ..situation(ItemStatus::HeldAtOffice)
        };
        let said = advice(&s, Lang::Vi);
        assert_eq!(said[0], "Mời đến nhận tại Bưu cục Việt Trì, 2 Trần Phú, Việt Trì (giờ mở cửa: 7:00–19:00), chậm nhất ngày 25/07/2026.");
        assert!(said[1].contains("căn cước công dân"));
    }

    #[test]
    fn a_failed_attempt_says_why_and_what_next() {
        let s = Situation {
            failure: Some((
                NonDeliveryReason::AddressNotFound,
                NonDeliveryAction::ContactRecipient,
            )),
            ..situation(ItemStatus::DeliveryFailed)
        };
        let said = advice(&s, Lang::Vi);
        assert_eq!(
            said[0],
            "Lần phát gần nhất không thành công: không tìm thấy địa chỉ."
        );
        assert!(said
            .iter()
            .any(|l| l.contains("Nếu địa chỉ nhận cần sửa, hãy báo Sở GD&ĐT Phú Thọ")));
    }

    #[test]
    fn a_replacement_comes_first() {
        let s = Situation {
            replaced_by: Some("EE123456785VN"),
            ..situation(ItemStatus::Lost)
        };
        assert!(advice(&s, Lang::En)[0].contains("EE123456785VN"));
    }
}
