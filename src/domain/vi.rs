//! The reasons the rules give, in Vietnamese, for the people who read them
//! there: a clerk's spreadsheet with Vietnamese headers gets its rows'
//! reasons in Vietnamese. A reason without a translation stays as it is.

/// A field of the API as a clerk's sheet or a form names it (the last part
/// of a nested name: `recipient.date_of_birth` is the date of birth).
pub fn field_label(field: &str) -> Option<&'static str> {
    let last = field.rsplit('.').next().unwrap_or(field);
    Some(match last {
        "tracking_number" => "Số hiệu",
        "season" => "Kỳ thi",
        "kind" => "Loại bưu gửi",
        "priority" => "Độ khẩn",
        "carrier_org" => "Doanh nghiệp bưu chính",
        "sender_org" => "Đơn vị gửi",
        "organization" if field.starts_with("recipient") => "Đơn vị nhận",
        "organization" => "Mã đơn vị",
        "attention" => "Người nhận tại đơn vị",
        "candidate_number" => "Số báo danh",
        "full_name" => "Họ tên thí sinh",
        "date_of_birth" => "Ngày sinh",
        "phone" => "Số điện thoại",
        "email" => "E-mail",
        "province" => "Tỉnh",
        "ward" => "Phường/xã",
        "address_line" => "Địa chỉ",
        "seal_number" => "Số niêm phong",
        "must_arrive_by" => "Hạn phát",
        "reference" => "Ghi chú",
        "name" => "Họ tên",
        "role" => "Vai trò",
        "password" => "Mật khẩu",
        "current_password" => "Mật khẩu hiện tại",
        "new_password" => "Mật khẩu mới",
        "plan" => "Kế hoạch xử lý",
        "expected_at" => "Thời điểm dự kiến xong",
        "outcome" => "Kết quả",
        "note" => "Ghi chú",
        _ => return None,
    })
}

/// The Vietnamese title of a problem type.
pub fn problem_title(kind: &str) -> Option<&'static str> {
    Some(match kind.strip_prefix("/problems/")? {
        "malformed-request" => "Yêu cầu không đúng định dạng",
        "validation" => "Dữ liệu chưa hợp lệ",
        "unauthorized" => "Chưa đăng nhập hoặc thông tin đăng nhập không đúng",
        "forbidden" => "Không được phép với vai trò của bạn",
        "not-found" => "Không tìm thấy",
        "conflict" => "Trùng với dữ liệu đã có",
        "payload-too-large" => "Dữ liệu gửi lên quá lớn",
        "unsupported-media-type" => "Định dạng tệp không được hỗ trợ",
        "too-many-requests" => "Quá nhiều yêu cầu",
        "unavailable" => "Dịch vụ tạm thời gián đoạn; hãy thử lại sau ít phút",
        "internal" => "Lỗi hệ thống; đã được ghi lại",
        _ => return None,
    })
}

/// The Vietnamese of a reason the domain or registration gives.
pub fn reason(english: &str) -> Option<String> {
    let exact = match english {
        "is required" | "must not be empty" => "không được để trống",
        "must be in the future" => "phải là thời điểm trong tương lai",
        "must be in the past" => "phải là ngày trong quá khứ",
        "must be after 1900-01-01" => "phải sau ngày 01/01/1900",
        "is not one of Vietnam's 34 provinces" | "is not one of Vietnam's 34 provinces (code, name or former name)" => {
            "không phải một trong 34 tỉnh, thành phố của Việt Nam (mã, tên hoặc tên tỉnh cũ đã sáp nhập)"
        }
        "must be a Vietnamese phone number, e.g. 0912345678 or +84 912 345 678" => {
            "phải là số điện thoại Việt Nam, ví dụ 0912345678 hoặc +84 912 345 678"
        }
        "must be an e-mail address such as name@example.vn" => "phải là địa chỉ thư điện tử, ví dụ ten@example.vn",
        "must be a date as YYYY-MM-DD" | "must be a date as YYYY-MM-DD or dd/mm/yyyy" => "phải là ngày dạng dd/mm/yyyy",
        "must be a day (YYYY-MM-DD) or an RFC 3339 time with a UTC offset" => "phải là ngày (dd/mm/yyyy) hoặc thời điểm kèm múi giờ",
        "must be 13 characters: 2 letters, 8 digits, a check digit and a 2-letter country code (e.g. RR123456785VN)" => {
            "phải gồm 13 ký tự: 2 chữ cái, 8 chữ số, 1 chữ số kiểm tra và mã nước 2 chữ cái (ví dụ RR123456785VN)"
        }
        "must be a year, a dash and a programme code, e.g. 2026-THPT or 2026-TS10" => {
            "phải là năm, dấu gạch ngang và mã kỳ thi, ví dụ 2026-THPT hoặc 2026-TS10"
        }
        "must be 4-20 letters or digits" => "phải gồm 4–20 chữ cái hoặc chữ số",
        "give your candidate number or your date of birth" => "hãy nhập số báo danh hoặc ngày sinh",
        "give your candidate number or your date of birth, not both" => "chỉ nhập một trong hai: số báo danh hoặc ngày sinh",
        "is required for a question" => "hãy viết câu hỏi của bạn",
        "is not UTF-8 text" => "không đọc được: không phải văn bản UTF-8",
        "is required for a confidential item (exam papers always are)" => "bắt buộc với bưu gửi mật (đề thi luôn là bưu gửi mật)",
        "exam papers go to an organization (an exam site or school), not to a candidate" => {
            "đề thi gửi đến một đơn vị (điểm thi, trường), không gửi cho thí sinh"
        }
        "must not be the e-mail address" => "không được trùng với địa chỉ e-mail",
        "is not your current password" => "không đúng mật khẩu hiện tại",
        "unknown e-mail or wrong password" => "sai e-mail hoặc mật khẩu",
        "the access token has expired; request a new one" => "phiên làm việc đã hết hạn; hãy đăng nhập lại",
        "send an access token as Authorization: Bearer <token>" => "hãy đăng nhập",
        "a user with this e-mail already exists" => "đã có người dùng với e-mail này",
        "only admins and users who manage users may create users" | "only admins and users who manage users may list users" => {
            "chỉ quản trị viên và người quản lý người dùng của đơn vị được làm việc này"
        }
        "you may create users of your own organization only" => "bạn chỉ được tạo người dùng của đơn vị mình",
        "only admins may create admins" => "chỉ quản trị viên được tạo quản trị viên",
        _ => "",
    };
    if !exact.is_empty() {
        return Some(exact.to_string());
    }
    if let Some(line) = english.strip_prefix("repeats line ").and_then(|rest| rest.strip_suffix(" of this file")) {
        return Some(format!("trùng số hiệu với dòng {line} của tệp"));
    }
    if let Some(min) = english.strip_prefix("must be at least ").and_then(|rest| rest.strip_suffix(" characters")) {
        return Some(format!("tối thiểu {min} ký tự"));
    }
    if english.starts_with("this needs the role ") {
        return Some("vai trò của bạn không được làm việc này".into());
    }
    if let Some(email) = english.strip_prefix("a user with the e-mail ").and_then(|rest| rest.strip_suffix(" already exists")) {
        return Some(format!("đã có người dùng với e-mail {email}"));
    }
    if let Some(seconds) = english
        .strip_prefix("too many failed sign-ins for this e-mail; try again in ")
        .or_else(|| english.strip_prefix("too many sign-in attempts from your address; try again in "))
        .or_else(|| english.strip_prefix("too many wrong passwords for this e-mail; try again in "))
        .and_then(|rest| rest.strip_suffix(" s"))
        .and_then(|n| n.parse::<u64>().ok())
    {
        return Some(format!("đăng nhập sai quá nhiều lần; hãy thử lại sau {} phút", seconds.div_ceil(60)));
    }
    if let Some(max) = english.strip_prefix("must be at most ").and_then(|rest| rest.strip_suffix(" characters")) {
        return Some(format!("tối đa {max} ký tự"));
    }
    if let Some((value, _)) = english.split_once(" is not one of ").filter(|(_, rest)| rest.ends_with("(or their Vietnamese names)")) {
        return Some(format!("{value} không phải giá trị hợp lệ (dùng mã hoặc tên tiếng Việt, ví dụ \"Giấy báo dự thi\", \"Khẩn\")"));
    }
    if let Some(rest) = english.strip_prefix("check digit is ") {
        let (found, rest) = rest.split_once(", expected ")?;
        let (expected, serial) = rest.split_once(" for serial ")?;
        return Some(format!("số kiểm tra là {found}, đúng ra phải là {expected} với số sê-ri {serial}"));
    }
    if let Some(code) = english.strip_prefix("no organization with code ") {
        return Some(format!("không có đơn vị mã {code}"));
    }
    if let Some(code) = english.strip_prefix("there is no season ").and_then(|rest| rest.split(';').next()) {
        return Some(format!("chưa có kỳ thi {code}; quản trị viên khai báo kỳ thi trước"));
    }
    if let Some(counts) = english.strip_prefix("has ").and_then(|rest| rest.strip_suffix(" (check the quoting)")) {
        let (cells, header) = counts.split_once(" cells where the header has ")?;
        return Some(format!("có {cells} ô trong khi dòng tiêu đề có {header} ô (kiểm tra dấu ngoặc kép)"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_reasons_read_in_vietnamese() {
        assert_eq!(reason("is required").as_deref(), Some("không được để trống"));
        assert_eq!(reason("repeats line 12 of this file").as_deref(), Some("trùng số hiệu với dòng 12 của tệp"));
        assert_eq!(
            reason("check digit is 9, expected 8 for serial 47300007").as_deref(),
            Some("số kiểm tra là 9, đúng ra phải là 8 với số sê-ri 47300007")
        );
        assert!(reason("\"Thư\" is not one of exam_notice, urgent (or their Vietnamese names)").unwrap().starts_with("\"Thư\" không phải"));
        assert_eq!(reason("something new"), None);
    }

    proptest! {
        #[test]
        fn any_reason_is_read_without_panicking(text in "\\PC{0,120}") {
            let _ = reason(&text);
        }
    }
}
