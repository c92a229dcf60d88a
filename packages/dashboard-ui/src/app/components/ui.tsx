/** Small building blocks shared by the pages. */
import type { ComponentChildren, JSX } from 'preact';
import { describeError } from '../api';
import { formatRelative, formatTimestamp } from '../format';
import { useNow } from '../hooks';

/** A job state or execution status as a coloured badge that also reads as text (never colour alone). */
export function Badge({ value, title }: { value: string; title?: string }): JSX.Element {
  return (
    <span class={`badge badge-${value.replace(/[^a-z]/gi, '')}`} title={title}>
      {value}
    </span>
  );
}

/** A time as "3m ago", with the exact local time as a tooltip and in `<time datetime>`. */
export function Time({ iso }: { iso: string | null | undefined }): JSX.Element {
  const now = useNow();
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={formatTimestamp(iso)}>
      {formatRelative(iso, now)}
    </time>
  );
}

/** A headline number. */
export function Stat({
  label,
  value,
  hint,
  href,
  tone,
}: {
  label: string;
  value: ComponentChildren;
  hint?: ComponentChildren;
  href?: string;
  tone?: string;
}): JSX.Element {
  const body = (
    <>
      <span class="stat-label">{label}</span>
      <span class="stat-value">{value}</span>
      {hint !== undefined && <span class="stat-hint">{hint}</span>}
    </>
  );
  const className = `stat${tone ? ` stat-${tone}` : ''}`;
  return href ? (
    <a class={`${className} stat-link`} href={href}>
      {body}
    </a>
  ) : (
    <div class={className}>{body}</div>
  );
}

/** An error from a load, with a retry button. */
export function ErrorBanner({ error, onRetry }: { error: unknown; onRetry?: () => void }): JSX.Element {
  return (
    <div class="banner banner-error" role="alert">
      <span>{describeError(error)}</span>
      {onRetry && (
        <button type="button" class="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Placeholder while the first answer is pending. */
export function Loading({ label = 'Loading…' }: { label?: string }): JSX.Element {
  return (
    <p class="loading" role="status">
      {label}
    </p>
  );
}

/** An empty list. */
export function Empty({ children }: { children: ComponentChildren }): JSX.Element {
  return <p class="empty">{children}</p>;
}

/** Page title row with optional actions on the right. */
export function PageHeader({
  title,
  subtitle,
  children,
}: {
  title: ComponentChildren;
  subtitle?: ComponentChildren;
  children?: ComponentChildren;
}): JSX.Element {
  return (
    <div class="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle !== undefined && <p class="subtitle">{subtitle}</p>}
      </div>
      {children !== undefined && <div class="actions">{children}</div>}
    </div>
  );
}

/** A section with a heading. */
export function Section({
  title,
  children,
  aside,
}: {
  title: string;
  children: ComponentChildren;
  aside?: ComponentChildren;
}): JSX.Element {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class="section" aria-labelledby={id}>
      <div class="section-header">
        <h2 id={id}>{title}</h2>
        {aside}
      </div>
      {children}
    </section>
  );
}

/** A table that scrolls sideways on narrow screens instead of breaking the layout. */
export function Table({ label, children }: { label: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="table-wrap">
      <table aria-label={label}>{children}</table>
    </div>
  );
}

/** A definition list of label/value pairs. */
export function Fields({ items }: { items: [string, ComponentChildren][] }): JSX.Element {
  return (
    <dl class="fields">
      {items.map(([label, value]) => (
        <div class="field" key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
