// React access to the customer-info controller. Optional: without a provider (older tests,
// screens without a project) the chat list simply has no settings menu.
import { createContext, useContext } from 'react';
import type { CustomerInfoController } from './customerInfoController';

export const CustomerInfoContext = createContext<CustomerInfoController | null>(null);

export function useCustomerInfo(): CustomerInfoController | null {
  return useContext(CustomerInfoContext);
}
