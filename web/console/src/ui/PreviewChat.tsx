// The editor's "Test run" chat: the draft answering a preview visitor, drawn like the widget
// (bot messages with their buttons; a click is sent as the widget sends it).
import { useEffect, useReducer, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import type { FlowPreview } from '../api/automation';
import { previewClient } from '../automation/previewClient';
import { buttonStates, buttonsOf } from '../../../widget/src/state';

const STATUS_TEXT = { connecting: 'Connecting…', online: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline' } as const;

export function PreviewChat({ preview, onClose }: { preview: FlowPreview; onClose: () => void }) {
  const [client] = useState(() => previewClient(preview));
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [text, setText] = useState('');
  const logRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    client.onChange = redraw;
    client.start();
    return () => {
      client.onChange = () => undefined;
      client.link.stop();
    };
  }, [client]);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  });

  const messages = client.chat.messages;
  const states = buttonStates(messages);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    client.send(text);
    setText('');
  };

  return (
    <aside className="preview-chat" data-testid="preview-chat" aria-label="Test run">
      <header className="preview-head">
        <div>
          <strong>Test run</strong>
          <span className="muted preview-status" data-testid="preview-status" role="status">
            {STATUS_TEXT[client.status]}
          </span>
        </div>
        <button type="button" className="btn btn-ghost btn-sm" data-testid="preview-close" onClick={onClose}>
          Close
        </button>
      </header>
      <p className="preview-hint muted">You chat as a test visitor. Your first message starts this draft, whatever its trigger; test runs are not counted.</p>
      <div className="preview-log" ref={logRef} role="log" aria-live="polite" data-testid="preview-messages">
        {messages.map((m) => {
          const st = states.get(m);
          return (
            <div key={m.key} className={`preview-msg preview-${m.sender}`} data-testid="preview-message" data-sender={m.sender}>
              <div className="preview-bubble">{m.text}</div>
              {st && (
                <div className="preview-buttons">
                  {buttonsOf(m).map((b) => (
                    <button
                      key={b.id}
                      type="button"
                      className={`preview-button${st.chosen === b.id ? ' preview-button-chosen' : ''}`}
                      data-testid="preview-button"
                      data-button-id={b.id}
                      aria-pressed={st.chosen === b.id}
                      disabled={!st.live || m.messageId === undefined}
                      onClick={() => m.messageId !== undefined && client.click(m.messageId, b)}
                    >
                      {b.title}
                    </button>
                  ))}
                </div>
              )}
            </div>
          );
        })}
      </div>
      <form className="preview-form" onSubmit={submit}>
        <input
          className="input"
          data-testid="preview-input"
          aria-label="Message as the test visitor"
          placeholder="Write as the visitor…"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="btn btn-primary btn-sm" data-testid="preview-send" disabled={!text.trim()}>
          Send
        </button>
      </form>
    </aside>
  );
}
