// Builds the single-page app into web/dist, which the console server serves.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1500 },
  // `vite dev` on 5173 proxies to a console server on 8093 (npm start).
  server: { proxy: { '/api': 'http://127.0.0.1:8093', '/auth': 'http://127.0.0.1:8093' } },
});
