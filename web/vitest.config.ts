import { defineConfig } from 'vitest/config';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  test: {
    include: ['console/src/**/*.test.ts', 'console/src/**/*.test.tsx', 'widget/src/**/*.test.ts'],
    environment: 'jsdom',
  },
});
