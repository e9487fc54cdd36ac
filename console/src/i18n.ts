import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import * as admin from './locales/admin.ts';
import * as citizen from './locales/citizen.ts';
import * as common from './locales/common.ts';
import * as governance from './locales/governance.ts';
import * as problems from './locales/problems.ts';
import * as staff from './locales/staff.ts';

export type Language = 'zh' | 'en';
const STORED = 'tongban.console.language';

/** The language last chosen in this browser (a preference, nothing secret), Chinese by default. */
export function storedLanguage(): Language {
  try {
    return localStorage.getItem(STORED) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

export function chooseLanguage(language: Language): void {
  try {
    localStorage.setItem(STORED, language);
  } catch {
    // Private windows may refuse storage: the choice then lasts this page only.
  }
  document.documentElement.lang = language === 'en' ? 'en' : 'zh-CN';
  void i18next.changeLanguage(language);
}

void i18next.use(initReactI18next).init({
  resources: {
    zh: { translation: { ...common.zh, ...staff.zh, ...citizen.zh, ...admin.zh, ...governance.zh, ...problems.zh } },
    en: { translation: { ...common.en, ...staff.en, ...citizen.en, ...admin.en, ...governance.en, ...problems.en } },
  },
  lng: storedLanguage(),
  fallbackLng: 'zh',
  interpolation: { escapeValue: false },
});
document.documentElement.lang = storedLanguage() === 'en' ? 'en' : 'zh-CN';

export default i18next;
