/** An unknown hash route. */
import type { JSX } from 'preact';
import { PageHeader } from '../components/ui';

export function NotFoundPage(): JSX.Element {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is no such page in the dashboard. <a href="#/">Go to the overview</a>.
      </p>
    </>
  );
}
