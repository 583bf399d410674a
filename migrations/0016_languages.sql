-- Ukrainian and Chinese catalogs beside English and Russian.
ALTER TABLE users DROP CONSTRAINT users_language_check,
  ADD CONSTRAINT users_language_check CHECK (language IN ('en', 'ru', 'uk', 'zh'));
