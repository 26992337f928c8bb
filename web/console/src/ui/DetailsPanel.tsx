// Right column: the customer info of the open conversation (note name, phone, e-mail, labels
// and session tags, editable in place) and facts about the conversation.
import { ContactFieldEditor, LabelsEditor, TagsEditor } from '../contacts/ContactEditors';
import { ContactHistory } from '../contacts/ContactHistory';
import type { SaveFn } from '../contacts/ContactEditors';
import { useCustomerInfo } from '../contacts/customerInfoContext';
import { displayName } from '../inbox/selectors';
import { useNow } from '../lib/clock';
import { formatDuration, fullTime } from '../lib/time';
import { memberName, useInboxContext, useInboxState } from './inboxContext';

export function DetailsPanel({ sessionId }: { sessionId: number }) {
  const state = useInboxState();
  const { members, userId, loadContactChanges } = useInboxContext();
  const info = useCustomerInfo();
  const now = useNow();
  const s = state.sessions[sessionId];
  if (!s) return <aside className="details" />;
  const contact = state.customer.contacts[s.contact_id];
  const rows: [string, string][] = [
    ['Status', s.status === 'assigned' ? `Assigned to ${memberName(members, s.assignee_id, userId)}` : s.status === 'ended' ? 'Ended' : 'Unassigned'],
    ['Started', fullTime(s.created_at)],
  ];
  if (s.awaiting_since && s.status !== 'ended') rows.push(['Waiting', formatDuration(now - Date.parse(s.awaiting_since))]);
  if (s.first_response_secs !== null) rows.push(['First response', formatDuration(s.first_response_secs * 1000)]);
  if (s.received_at) rows.push(['Received', fullTime(s.received_at)]);
  if (s.ended_at) rows.push(['Ended', fullTime(s.ended_at)]);
  rows.push(['Messages', `${s.visitor_message_count} from visitor · ${s.agent_message_count} from agents`]);

  const save: SaveFn = async (patch) => (info ? info.saveContact(s.contact_id, patch) : { ok: false, error: 'Not available.' });

  return (
    <aside className="details" aria-label="Conversation details">
      <section>
        <h3>Customer info</h3>
        <p className="details-name" data-testid="info-name">
          {displayName(s)}
        </p>
        {s.note_name?.trim() && <p className="muted">Original name: {s.contact_name}</p>}
        <p className="muted">Contact #{s.contact_id}</p>
        {contact && info ? (
          <div className="info-fields" data-testid="info-fields" data-contact-id={contact.id}>
            <ContactFieldEditor contact={contact} field="note_name" label="Note name" testPrefix="info" onSave={save} />
            <ContactFieldEditor contact={contact} field="phone" label="Phone" testPrefix="info" onSave={save} />
            <ContactFieldEditor contact={contact} field="email" label="E-mail" testPrefix="info" onSave={save} />
            <div className="info-field">
              <span className="info-field-label">Labels</span>
              <LabelsEditor contact={contact} testPrefix="info" onSave={save} />
            </div>
            {loadContactChanges && (
              <ContactHistory contactId={contact.id} updatedAt={contact.updated_at} load={loadContactChanges} members={members} userId={userId} />
            )}
          </div>
        ) : (
          info && <p className="muted" aria-busy="true">Loading customer info…</p>
        )}
      </section>
      {info && (
        <section>
          <h3>Session tags</h3>
          <TagsEditor tags={state.customer.sessionTags[sessionId]} tagList={state.customer.tagList} onSet={(ids) => info.setSessionTags(sessionId, ids)} />
        </section>
      )}
      <section>
        <h3>Conversation</h3>
        <dl>
          {rows.map(([k, v]) => (
            <div key={k} className="details-row">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      </section>
    </aside>
  );
}
