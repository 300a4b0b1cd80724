// The one schema both backends share; migrations/sqlite and migrations/postgres create it.

diesel::table! {
    organizations (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        kind -> Text,
        province -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        role -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    items (id) {
        id -> BigInt,
        public_id -> Text,
        tracking_number -> Text,
        season -> Text,
        kind -> Text,
        priority -> Text,
        status -> Text,
        sender_org_id -> Text,
        carrier_org_id -> Text,
        origin_province -> Text,
        recipient_kind -> Text,
        recipient_org_id -> Nullable<Text>,
        recipient_attention -> Nullable<Text>,
        candidate_number -> Nullable<Text>,
        candidate_name -> Nullable<Text>,
        candidate_dob -> Nullable<Date>,
        candidate_phone -> Nullable<Text>,
        candidate_email -> Nullable<Text>,
        dest_province -> Text,
        dest_ward -> Text,
        dest_address -> Text,
        seal_number -> Nullable<Text>,
        must_arrive_by -> Nullable<Timestamp>,
        reference -> Nullable<Text>,
        content_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_event_id -> Nullable<BigInt>,
        last_event_at -> Nullable<Timestamp>,
        last_office_code -> Nullable<Text>,
        has_anomaly -> Bool,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        public_id -> Text,
        item_id -> BigInt,
        carrier_org_id -> Text,
        client_event_id -> Text,
        event_type -> Text,
        occurred_at -> Timestamp,
        occurred_offset_min -> Integer,
        received_at -> Timestamp,
        office_code -> Text,
        office_name -> Nullable<Text>,
        office_type -> Nullable<Text>,
        operator_id -> Nullable<Text>,
        device_id -> Nullable<Text>,
        details -> Text,
        content_hash -> Text,
        created_by -> Text,
    }
}

diesel::table! {
    event_voids (event_id) {
        event_id -> BigInt,
        reason -> Text,
        note -> Nullable<Text>,
        voided_by -> Text,
        voided_at -> Timestamp,
    }
}

diesel::joinable!(api_clients -> organizations (organization_id));
diesel::joinable!(events -> items (item_id));
diesel::joinable!(event_voids -> events (event_id));
diesel::allow_tables_to_appear_in_same_query!(organizations, api_clients, items, events, event_voids);
