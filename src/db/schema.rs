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
    }
}

diesel::joinable!(api_clients -> organizations (organization_id));
diesel::allow_tables_to_appear_in_same_query!(organizations, api_clients, items);
