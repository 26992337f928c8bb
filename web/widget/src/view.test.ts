import { describe, it, expect, vi } from 'vitest';
import { View, type ViewModel, sync } from './view';
import type { ChatMessage } from './state';

function mount() {
  const events = { toggle: vi.fn(), send: vi.fn(), input: vi.fn(), click: vi.fn() };
  const view = new View(document, events, { title: 'Chat', greeting: 'Hi' });
  document.body.appendChild(view.host);
  const root = view.host.shadowRoot!;
  const $ = (id: string) => root.querySelector(`[data-testid="${id}"]`) as HTMLElement | null;
  const $$ = (id: string) => Array.from(root.querySelectorAll(`[data-testid="${id}"]`)) as HTMLElement[];
  return { view, events, root, $, $$ };
}

const model = (m: Partial<ViewModel> = {}): ViewModel => ({ open: true, status: 'online', messages: [], unread: 0, agentTyping: false, ended: false, ...m });
const message = (m: Partial<ChatMessage>): ChatMessage => ({ key: 'k' + Math.random(), sessionId: 1, seq: 1, sender: 'agent', text: 't', pending: false, ...m });

describe('view', () => {
  it('mounts an open shadow root under #switchboard-widget with the test ids', () => {
    const { view, $ } = mount();
    view.render(model());
    expect(view.host.id).toBe('switchboard-widget');
    expect(view.host.shadowRoot).not.toBeNull();
    for (const id of ['sb-launcher', 'sb-panel', 'sb-messages', 'sb-input', 'sb-send', 'sb-status']) expect($(id), id).not.toBeNull();
    expect($('sb-status')!.textContent).toBe('Online');
    view.render(model({ status: 'reconnecting' }));
    expect($('sb-status')!.textContent).toContain('Reconnecting');
    view.render(model({ status: 'offline' }));
    expect($('sb-status')!.textContent).toContain('Offline');
    view.host.remove();
  });

  it('renders message text as text, never as markup', () => {
    const { view, root, $$ } = mount();
    const evil = '<img src=x onerror="window.__pwned=1"><b>bold?</b>';
    view.render(model({ messages: [message({ text: evil, sender: 'visitor' })] }));
    const [m] = $$('sb-message');
    expect(m.textContent).toBe(evil);
    expect(m.querySelectorAll('*').length).toBe(1); // the bubble, holding one text node
    expect(root.querySelectorAll('img').length).toBe(0);
    view.host.remove();
  });

  it('turns http(s) links into safe anchors and nothing else', () => {
    const { view, root } = mount();
    view.render(model({ messages: [message({ text: 'see https://a.example/x?y=1. or javascript:alert(1)' })] }));
    const links = Array.from(root.querySelectorAll('a'));
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://a.example/x?y=1']);
    expect(links[0].rel).toContain('noopener');
    view.host.remove();
  });

  it('marks pending messages and updates the same node once committed', () => {
    const { view, $$ } = mount();
    const pending = message({ key: 'cA', seq: null, sessionId: null, sender: 'visitor', pending: true, text: 'hey' });
    view.render(model({ messages: [pending] }));
    const node = $$('sb-message')[0];
    expect(node.getAttribute('data-pending')).toBe('true');
    expect(node.getAttribute('data-seq')).toBe('');
    expect(node.getAttribute('data-sender')).toBe('visitor');
    view.render(model({ messages: [message({ seq: 1 }), { ...pending, seq: 2, sessionId: 1, pending: false }] }));
    const nodes = $$('sb-message');
    expect(nodes[1]).toBe(node);
    expect(node.hasAttribute('data-pending')).toBe(false);
    expect(nodes.map((n) => n.getAttribute('data-seq'))).toEqual(['1', '2']);
    view.host.remove();
  });

  it('shows the badge only with unread messages, and the typing line only while an agent types', () => {
    const { view, $ } = mount();
    view.render(model({ open: false, unread: 0 }));
    expect($('sb-badge')).toBeNull();
    view.render(model({ open: false, unread: 3 }));
    expect($('sb-badge')!.textContent).toBe('3');
    expect($('sb-launcher')!.getAttribute('aria-label')).toContain('3 unread');
    view.render(model({ open: true }));
    expect($('sb-badge')).toBeNull();
    expect($('sb-typing')).toBeNull();
    view.render(model({ agentTyping: true }));
    expect($('sb-typing')!.textContent).toContain('Agent is typing');
    view.render(model());
    expect($('sb-typing')).toBeNull();
    view.host.remove();
  });

  it('Enter sends, Shift+Enter does not, the launcher toggles and Escape closes', () => {
    const { view, events, $ } = mount();
    view.render(model({ open: false }));
    $('sb-launcher')!.click();
    expect(events.toggle).toHaveBeenLastCalledWith(true);
    view.render(model({ open: true }));
    const input = $('sb-input') as HTMLTextAreaElement;
    input.value = 'hello';
    input.dispatchEvent(new Event('input'));
    expect(events.input).toHaveBeenLastCalledWith(false);
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true }));
    expect(events.send).not.toHaveBeenCalled();
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(events.send).toHaveBeenCalledWith('hello');
    expect(input.value).toBe('');
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(events.toggle).toHaveBeenLastCalledWith(false);
    view.host.remove();
  });

  it('sync reorders and trims children in place', () => {
    const p = document.createElement('div');
    const [a, b, c] = ['a', 'b', 'c'].map((t) => document.createTextNode(t));
    sync(p, [a, b, c]);
    sync(p, [c, a]);
    expect(p.textContent).toBe('ca');
  });

  it('shows a bot message\'s buttons; a click reports it; they are spent once the visitor answered', () => {
    const { view, events, $$ } = mount();
    const bot = message({ key: 'b', sender: 'bot', messageId: 77, text: 'Choose', content: { buttons: [{ id: 'p', title: 'Pricing' }, { id: 's', title: 'Support' }] } });
    view.render(model({ messages: [bot] }));
    const buttons = $$('sb-button') as HTMLButtonElement[];
    expect(buttons.map((b) => b.textContent)).toEqual(['Pricing', 'Support']);
    expect(buttons.every((b) => !b.disabled)).toBe(true);
    buttons[1].click();
    expect(events.click).toHaveBeenCalledWith(77, { id: 's', title: 'Support' });
    const click = message({ key: 'c', seq: 2, sender: 'visitor', text: 'Support', content: { button: { message_id: 77, id: 's' } } });
    view.render(model({ messages: [bot, click] }));
    const after = $$('sb-button') as HTMLButtonElement[];
    expect(after.every((b) => b.disabled)).toBe(true);
    expect(after.map((b) => b.getAttribute('aria-pressed'))).toEqual(['false', 'true']);
    view.host.remove();
  });

  it('a question for an e-mail address asks for one in the input', () => {
    const { view, $ } = mount();
    view.render(model({ messages: [message({ key: 'q', sender: 'bot', content: { ask: 'email' } })] }));
    const input = $('sb-input') as HTMLTextAreaElement;
    expect(input.getAttribute('inputmode')).toBe('email');
    expect(input.placeholder).toContain('e-mail');
    view.render(model({ messages: [] }));
    expect(input.getAttribute('inputmode')).toBe('text');
    view.host.remove();
  });
});
