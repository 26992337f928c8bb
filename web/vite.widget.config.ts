// The visitor widget: one self-contained script (dist/widget.js), no framework, served by the
// switchboard binary at /widget.js.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2019',
    minify: 'esbuild',
    lib: {
      entry: 'widget/src/main.ts',
      name: 'SwitchboardWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
