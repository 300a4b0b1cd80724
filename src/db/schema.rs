// The one schema both backends share; migrations/sqlite and migrations/postgres create it.

diesel::table! {
    organizations (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        kind -> Text,
        province -> Text,
        created_at -> Timestamp,
        reads_province -> Bool,
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
        credential_generation -> BigInt,
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
        accepted_at -> Nullable<Timestamp>,
        due_at -> Nullable<Timestamp>,
        replaces_item_id -> Nullable<BigInt>,
        replaced_by_item_id -> Nullable<BigInt>,
        confidential -> Bool,
        due_extension_minutes -> Integer,
        sent_by_candidate -> Bool,
        last_place -> Nullable<Text>,
        notice_details -> Nullable<Text>,
        notice_place -> Nullable<Text>,
        notice_at -> Nullable<Timestamp>,
        open_incident_kind -> Nullable<Text>,
        pre_advice_acknowledged -> Bool,
        replaced_by_number -> Nullable<Text>,
        folded_through -> Nullable<Timestamp>,
        failed_attempts -> Integer,
        last_handover_type -> Nullable<Text>,
    }
}

diesel::table! {
    priority_rules (priority) {
        priority -> Text,
        transit_hours_same_province -> Integer,
        transit_hours_other_province -> Integer,
        stall_hours -> Integer,
        ack_hours -> Integer,
        suspected_loss_hours -> Integer,
        at_risk_margin_hours -> Integer,
        accept_hours -> Integer,
    }
}

diesel::table! {
    kind_priorities (kind) {
        kind -> Text,
        priority -> Text,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        public_id -> Text,
        item_id -> BigInt,
        kind -> Text,
        severity -> Text,
        level -> Integer,
        state -> Text,
        owner_org_id -> Text,
        response_due_at -> Timestamp,
        trigger_event_id -> Nullable<BigInt>,
        plan -> Nullable<Text>,
        expected_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        replacement_requested -> Bool,
        opened_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        incident_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    digest_entries (id) {
        id -> BigInt,
        contact_id -> Text,
        email -> Text,
        lang -> Text,
        line -> Text,
        created_at -> Timestamp,
        flushed_at -> Nullable<Timestamp>,
        digest_key -> Nullable<Text>,
    }
}

diesel::table! {
    pre_advices (item_id) {
        item_id -> BigInt,
        recipient_org_id -> Text,
        candidate_number -> Text,
        candidate_name -> Text,
        programme -> Text,
        document_digest -> Text,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        acknowledged_by -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    report_deliveries (contact_id, day) {
        contact_id -> Text,
        day -> Date,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    seasons (code) {
        code -> Text,
        name -> Text,
        exam_days -> Text,
        result_day -> Nullable<Date>,
        closes_on -> Date,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    season_deadlines (season_code, kind) {
        season_code -> Text,
        kind -> Text,
        deadline -> Timestamp,
    }
}

diesel::table! {
    incidents (id) {
        id -> BigInt,
        public_id -> Text,
        kind -> Text,
        provinces -> Text,
        wards -> Text,
        office_codes -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        description -> Text,
        declared_by_org_id -> Text,
        declared_by -> Text,
        state -> Text,
        extension_minutes -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    incident_items (incident_id, item_id) {
        incident_id -> BigInt,
        item_id -> BigInt,
        linked_at -> Timestamp,
    }
}

diesel::table! {
    case_entries (id) {
        id -> BigInt,
        case_id -> BigInt,
        action -> Text,
        level -> Integer,
        actor -> Text,
        note -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    contact_points (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        position -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        case_kinds -> Text,
        levels -> Text,
        lang -> Text,
        created_at -> Timestamp,
        digest_minutes -> Integer,
        task -> Nullable<Text>,
        plan_role -> Nullable<Text>,
        exam_site -> Nullable<Text>,
        daily_report -> Bool,
        public -> Bool,
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
        chain_seq -> Nullable<BigInt>,
        chain_link -> Nullable<Binary>,
    }
}

diesel::table! {
    event_voids (event_id) {
        event_id -> BigInt,
        reason -> Text,
        note -> Nullable<Text>,
        voided_by -> Text,
        voided_at -> Timestamp,
        chain_seq -> Nullable<BigInt>,
        chain_link -> Nullable<Binary>,
    }
}

diesel::table! {
    item_chains (item_id) {
        item_id -> BigInt,
        length -> BigInt,
        head -> Binary,
        salt -> Nullable<Binary>,
    }
}

diesel::table! {
    chain_leaves (day, item_id) {
        day -> Date,
        item_id -> BigInt,
        seq -> BigInt,
        link -> Binary,
    }
}

diesel::table! {
    chain_roots (day) {
        day -> Date,
        root -> Binary,
        leaves -> BigInt,
        signature -> Binary,
        public_key -> Binary,
        sealed_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        organization_id -> Text,
        url -> Text,
        secret -> Text,
        topics -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        channel -> Text,
        target -> Text,
        topic -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_status_code -> Nullable<Integer>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    throttle_counters (bucket) {
        bucket -> Text,
        hits -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::joinable!(api_clients -> organizations (organization_id));
diesel::joinable!(events -> items (item_id));
diesel::joinable!(event_voids -> events (event_id));
diesel::joinable!(cases -> items (item_id));
diesel::joinable!(case_entries -> cases (case_id));
diesel::joinable!(incident_items -> incidents (incident_id));
diesel::joinable!(incident_items -> items (item_id));
diesel::joinable!(pre_advices -> items (item_id));
diesel::table! {
    read_audit (id) {
        id -> BigInt,
        at -> Timestamp,
        client_id -> Text,
        org_id -> Text,
        role -> Text,
        address -> Nullable<Text>,
        action -> Text,
        tracking_numbers -> Nullable<Text>,
        query -> Nullable<Text>,
        item_count -> BigInt,
        fields -> Text,
        provinces -> Text,
    }
}

diesel::table! {
    season_purges (season_code) {
        season_code -> Text,
        purged_at -> Timestamp,
        purged_by -> Text,
        items -> BigInt,
    }
}

diesel::table! {
    users (client_id) {
        client_id -> Text,
        email -> Text,
        password_hash -> Text,
        manages_users -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
    }
}
diesel::joinable!(users -> api_clients (client_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations, api_clients, items, events, event_voids, priority_rules, kind_priorities, cases, case_entries, contact_points, webhooks,
    outbox, incidents, incident_items, digest_entries, seasons, season_deadlines, pre_advices, report_deliveries,
    read_audit, item_chains, chain_leaves, chain_roots, season_purges, users
);
