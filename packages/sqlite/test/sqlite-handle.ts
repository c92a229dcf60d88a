/** better-sqlite3 for tests that look at the file directly, the way an operator's script would. */
export { default as Database } from 'better-sqlite3';
