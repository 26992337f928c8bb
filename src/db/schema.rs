// Diesel table definitions, kept in step with migrations/ by hand (a test compares them with
// the migrated database's columns).

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    auth_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Bytea,
        kind -> Text,
        name -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    projects (id) {
        id -> Int8,
        name -> Text,
        settings -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    roles (id) {
        id -> Int8,
        project_id -> Int8,
        name -> Text,
        builtin -> Bool,
        permissions -> Array<Text>,
        data_scope -> Text,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> Int8,
        user_id -> Int8,
        role_id -> Int8,
        preferences -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    channels (id) {
        id -> Int8,
        project_id -> Int8,
        kind -> Text,
        name -> Text,
        widget_key -> Nullable<Text>,
        config -> Jsonb,
        created_at -> Timestamptz,
        external_id -> Nullable<Text>,
        health -> Text,
        health_detail -> Nullable<Text>,
        health_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    contacts (id) {
        id -> Int8,
        project_id -> Int8,
        channel_id -> Int8,
        external_id -> Text,
        name -> Text,
        note_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        labels -> Array<Text>,
        visitor_token_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_inbound_at -> Nullable<Timestamptz>,
        unreachable_at -> Nullable<Timestamptz>,
        avatar_url -> Nullable<Text>,
    }
}

diesel::table! {
    contact_changes (id) {
        id -> Int8,
        contact_id -> Int8,
        user_id -> Nullable<Int8>,
        field -> Text,
        old -> Jsonb,
        new -> Jsonb,
        at -> Timestamptz,
    }
}

diesel::table! {
    hosting_changes (id) {
        id -> Int8,
        session_id -> Int8,
        user_id -> Nullable<Int8>,
        hosted -> Bool,
        reason -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        project_id -> Int8,
        channel_id -> Int8,
        contact_id -> Int8,
        status -> Text,
        bot_hosted -> Bool,
        assignee_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        received_at -> Nullable<Timestamptz>,
        awaiting_since -> Nullable<Timestamptz>,
        first_wait_at -> Nullable<Timestamptz>,
        first_response_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        last_seq -> Int8,
        last_message_at -> Timestamptz,
        message_count -> Int4,
        visitor_message_count -> Int4,
        agent_message_count -> Int4,
        updated_at -> Timestamptz,
        alert_wait_since -> Nullable<Timestamptz>,
        /// Generated: last_message_at once ended, NULL while open (never written).
        list_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    messages (id) {
        id -> Int8,
        session_id -> Int8,
        seq -> Int8,
        sender_kind -> Text,
        sender_user_id -> Nullable<Int8>,
        client_id -> Nullable<Text>,
        body -> Text,
        off_platform -> Bool,
        external_id -> Nullable<Text>,
        created_at -> Timestamptz,
        channel_id -> Nullable<Int8>,
        content -> Jsonb,
        flow_run_id -> Nullable<Int8>,
    }
}

diesel::table! {
    session_tags (id) {
        id -> Int8,
        project_id -> Int8,
        name -> Text,
        color -> Text,
    }
}

diesel::table! {
    session_tag_links (session_id, tag_id) {
        session_id -> Int8,
        tag_id -> Int8,
    }
}

diesel::table! {
    timers (id) {
        id -> Int8,
        project_id -> Int8,
        session_id -> Nullable<Int8>,
        kind -> Text,
        due_at -> Timestamptz,
        payload -> Jsonb,
        claimed_until -> Nullable<Timestamptz>,
        fired_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        key -> Text,
        episode -> Text,
        skip_reason -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        project_id -> Int8,
        kind -> Text,
        state -> Text,
        params -> Jsonb,
        progress -> Jsonb,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        run_after -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        channel_id -> Nullable<Int8>,
        cancel_requested -> Bool,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Int8,
        channel_id -> Int8,
        body -> Text,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    channel_outbound (message_id) {
        message_id -> Int8,
        channel_id -> Int8,
        session_id -> Int8,
        recipient -> Text,
        messaging_type -> Text,
        tag -> Nullable<Text>,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        error_code -> Nullable<Int4>,
        error_subcode -> Nullable<Int4>,
        error_text -> Nullable<Text>,
        mid -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        read_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        project_id -> Int8,
        kind -> Text,
        session_id -> Nullable<Int8>,
        timer_id -> Nullable<Int8>,
        recipient_user_id -> Nullable<Int8>,
        to_address -> Text,
        to_name -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        message_id -> Text,
        state -> Text,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    flows (id) {
        id -> Int8,
        project_id -> Int8,
        name -> Text,
        enabled -> Bool,
        draft -> Jsonb,
        trigger_kind -> Text,
        published_version -> Nullable<Int4>,
        created_by -> Nullable<Int8>,
        updated_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    flow_versions (id) {
        id -> Int8,
        flow_id -> Int8,
        version -> Int4,
        preview -> Bool,
        document -> Jsonb,
        trigger_kind -> Text,
        published_by -> Nullable<Int8>,
        published_at -> Timestamptz,
    }
}

diesel::table! {
    flow_previews (contact_id) {
        contact_id -> Int8,
        flow_version_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    flow_runs (id) {
        id -> Int8,
        project_id -> Int8,
        flow_id -> Int8,
        flow_version_id -> Int8,
        session_id -> Int8,
        contact_id -> Int8,
        channel_id -> Int8,
        preview -> Bool,
        status -> Text,
        end_reason -> Nullable<Text>,
        trigger_kind -> Text,
        trigger_message_id -> Nullable<Int8>,
        current_step -> Nullable<Text>,
        step_seq -> Int4,
        waiting_for -> Nullable<Text>,
        waiting_message_id -> Nullable<Int8>,
        retries -> Int4,
        vars -> Jsonb,
        triggered_at -> Timestamptz,
        participated_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    flow_run_steps (id) {
        id -> Int8,
        run_id -> Int8,
        flow_version_id -> Int8,
        seq -> Int4,
        step_id -> Text,
        step_type -> Text,
        from_step -> Nullable<Text>,
        via_port -> Nullable<Text>,
        entered_at -> Timestamptz,
        left_port -> Nullable<Text>,
        left_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(auth_tokens -> users (user_id));
diesel::joinable!(roles -> projects (project_id));
diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(project_members -> roles (role_id));
diesel::joinable!(channels -> projects (project_id));
diesel::joinable!(contacts -> channels (channel_id));
diesel::joinable!(contact_changes -> contacts (contact_id));
diesel::joinable!(sessions -> contacts (contact_id));
diesel::joinable!(sessions -> channels (channel_id));
diesel::joinable!(messages -> sessions (session_id));
diesel::joinable!(flows -> projects (project_id));
diesel::joinable!(flow_versions -> flows (flow_id));
diesel::joinable!(flow_runs -> flow_versions (flow_version_id));
diesel::joinable!(flow_run_steps -> flow_runs (run_id));
diesel::joinable!(flow_previews -> flow_versions (flow_version_id));
diesel::joinable!(session_tag_links -> sessions (session_id));
diesel::joinable!(session_tag_links -> session_tags (tag_id));
diesel::joinable!(timers -> sessions (session_id));
diesel::joinable!(outbox -> projects (project_id));
diesel::joinable!(webhook_events -> channels (channel_id));
diesel::joinable!(channel_outbound -> messages (message_id));
diesel::joinable!(channel_outbound -> sessions (session_id));
diesel::joinable!(jobs -> channels (channel_id));
diesel::joinable!(hosting_changes -> sessions (session_id));
diesel::joinable!(hosting_changes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    auth_tokens,
    projects,
    roles,
    project_members,
    channels,
    contacts,
    contact_changes,
    sessions,
    messages,
    flows,
    flow_versions,
    flow_previews,
    flow_runs,
    flow_run_steps,
    session_tags,
    session_tag_links,
    timers,
    jobs,
    outbox,
    webhook_events,
    channel_outbound,
    hosting_changes,
);
