// The agent console: a React single-page app, built to dist/console and embedded in the
// switchboard binary (see build.rs). JSX is compiled by esbuild directly (no React plugin).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'console',
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2020',
    rollupOptions: {
      // React Flow marks its bundle "use client" (for React Server Components); nothing to do here.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/ws': { target: 'ws://127.0.0.1:8080', ws: true } },
  },
});
