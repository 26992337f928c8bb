// The open conversation: header with actions, messages, typing indicator, composer.
import { chatLog, pendingFor } from '../inbox/selectors';
import { ChatHeader } from './ChatHeader';
import { Composer } from './Composer';
import { useInboxState } from './inboxContext';
import { MessageList } from './MessageList';

interface Props {
  sessionId: number;
  /** Changes when the composer should take the focus; null while browsing the list by keys. */
  focusRequest: number | null;
  onClose: () => void;
}

export function ChatView({ sessionId, focusRequest, onClose }: Props) {
  const state = useInboxState();
  const session = state.sessions[sessionId];
  const log = chatLog(state, sessionId);

  if (!session) {
    return (
      <section className="chat chat-empty" aria-busy={!log.error}>
        {log.error ? (
          <>
            <h2>Conversation unavailable</h2>
            <p>{log.error}</p>
          </>
        ) : (
          <p className="muted">Loading conversation…</p>
        )}
      </section>
    );
  }

  const typing = !!state.visitorTyping[sessionId];
  const messenger = state.channelKinds[session.channel_id] === 'messenger';
  const replyWindow = messenger ? (state.replyWindows[sessionId] ?? { window: null, loading: true, error: null }) : undefined;
  return (
    <section className="chat" aria-label="Conversation">
      <ChatHeader session={session} onClose={onClose} />
      <MessageList session={session} log={log} pending={pendingFor(state, sessionId)} typing={typing} />
      <div className="typing-strip" aria-live="polite">
        {typing && (
          <span className="typing-indicator" data-testid="typing-indicator">
            <span className="typing-dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            Visitor is typing…
          </span>
        )}
      </div>
      <Composer session={session} focusRequest={focusRequest} replyWindow={replyWindow} />
    </section>
  );
}
