import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './csp.ts';
import './i18n.ts';
import './style.css';
import { App } from './App.tsx';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
