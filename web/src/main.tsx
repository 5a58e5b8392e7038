import { render } from 'preact';
import { App } from './app.tsx';
import { finishCallback } from './auth.ts';

if (!finishCallback()) {
  const root = document.getElementById('app');
  if (root) render(<App />, root);
}
