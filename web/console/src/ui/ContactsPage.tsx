// "Contacts": every contact of the project, searchable by name or note name, filterable by
// note name, paged with "Load more". Cells edit in place like the details panel; rows follow
// `contact` frames through the inbox store.
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { ContactsPort } from '../api/contacts';
import { ContactFieldEditor, LabelsEditor } from '../contacts/ContactEditors';
import type { SaveFn } from '../contacts/ContactEditors';
import { ContactsListController } from '../contacts/contactsList';
import { useCustomerInfo } from '../contacts/customerInfoContext';
import { liveContact } from '../contacts/customerState';
import { fullTime } from '../lib/time';
import { useInboxState } from './inboxContext';

interface Props {
  api: Pick<ContactsPort, 'contacts'>;
  projectId: number;
  onUnauthenticated: () => void;
}

export function ContactsPage({ api, projectId, onUnauthenticated }: Props) {
  const [controller] = useState(() => new ContactsListController({ api, projectId, onUnauthenticated }));
  useEffect(() => {
    controller.start();
    return () => controller.stop();
  }, [controller]);
  const list = useSyncExternalStore(controller.subscribe, controller.getState);
  const { customer } = useInboxState();
  const info = useCustomerInfo();

  return (
    <div className="contacts-page" data-testid="contacts-page">
      <div className="contacts-toolbar">
        <h1 className="contacts-title">Contacts</h1>
        <input
          className="contacts-search"
          type="search"
          data-testid="contacts-search"
          aria-label="Search by name or note name"
          placeholder="Search name or note name"
          value={list.query}
          onChange={(e) => controller.setSearch({ query: e.target.value })}
        />
        <input
          className="contacts-search"
          type="search"
          data-testid="contacts-note-filter"
          aria-label="Filter by note name"
          placeholder="Note name contains…"
          value={list.noteFilter}
          onChange={(e) => controller.setSearch({ noteFilter: e.target.value })}
        />
      </div>
      {list.error && (
        <div className="notice notice-danger" role="alert" data-testid="contacts-error">
          <span>{list.error}</span>
          <button type="button" className="link" onClick={() => controller.reload()}>
            Try again
          </button>
        </div>
      )}
      <div className="contacts-table-wrap">
        <table className="contacts-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Note name</th>
              <th scope="col">Phone</th>
              <th scope="col">E-mail</th>
              <th scope="col">Labels</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((row) => {
              const c = liveContact(customer, row);
              const save: SaveFn = async (patch) => (info ? info.saveContact(c.id, patch) : { ok: false, error: 'Not available.' });
              return (
                <tr key={c.id} data-testid="contact-row" data-contact-id={c.id}>
                  <td className="contacts-name">{c.name}</td>
                  <td>
                    <ContactFieldEditor contact={c} field="note_name" label="Note name" testPrefix="contact" onSave={save} compact />
                  </td>
                  <td>
                    <ContactFieldEditor contact={c} field="phone" label="Phone" testPrefix="contact" onSave={save} compact />
                  </td>
                  <td>
                    <ContactFieldEditor contact={c} field="email" label="E-mail" testPrefix="contact" onSave={save} compact />
                  </td>
                  <td>
                    <LabelsEditor contact={c} testPrefix="contact" onSave={save} />
                  </td>
                  <td className="contacts-created">
                    <time dateTime={c.created_at}>{fullTime(c.created_at)}</time>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {list.loaded && list.items.length === 0 && <p className="list-empty">No contacts match.</p>}
        {!list.loaded && list.loading && <p className="list-empty">Loading…</p>}
        {list.nextBefore !== null && (
          <div className="list-more">
            <button type="button" className="btn btn-sm" data-testid="contacts-load-more" disabled={list.loading} onClick={() => controller.loadMore()}>
              {list.loading ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
