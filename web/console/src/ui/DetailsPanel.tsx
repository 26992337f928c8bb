// Right column: facts about the open conversation.
import { displayName } from '../inbox/selectors';
import { useNow } from '../lib/clock';
import { formatDuration, fullTime } from '../lib/time';
import { memberName, useInboxContext, useInboxState } from './inboxContext';

export function DetailsPanel({ sessionId }: { sessionId: number }) {
  const state = useInboxState();
  const { members, userId } = useInboxContext();
  const now = useNow();
  const s = state.sessions[sessionId];
  if (!s) return <aside className="details" />;
  const rows: [string, string][] = [
    ['Status', s.status === 'assigned' ? `Assigned to ${memberName(members, s.assignee_id, userId)}` : s.status === 'ended' ? 'Ended' : 'Unassigned'],
    ['Started', fullTime(s.created_at)],
  ];
  if (s.awaiting_since && s.status !== 'ended') rows.push(['Waiting', formatDuration(now - Date.parse(s.awaiting_since))]);
  if (s.first_response_secs !== null) rows.push(['First response', formatDuration(s.first_response_secs * 1000)]);
  if (s.received_at) rows.push(['Received', fullTime(s.received_at)]);
  if (s.ended_at) rows.push(['Ended', fullTime(s.ended_at)]);
  rows.push(['Messages', `${s.visitor_message_count} from visitor · ${s.agent_message_count} from agents`]);

  return (
    <aside className="details" aria-label="Conversation details">
      <section>
        <h3>Contact</h3>
        <p className="details-name">{displayName(s)}</p>
        {s.note_name?.trim() && <p className="muted">Original name: {s.contact_name}</p>}
        <p className="muted">Contact #{s.contact_id}</p>
      </section>
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
