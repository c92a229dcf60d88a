import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../scripts/build-app';
import { escapeHtml, getUiAsset, renderUiHtml, serializeJsonForScript } from '../src/index';

describe('the built assets and the HTML shell', () => {
  beforeAll(async () => {
    await buildApp();
  });

  it('serves app.js, app.css and the favicon with their content types', () => {
    expect(getUiAsset('app.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(getUiAsset('app.css')?.contentType).toBe('text/css; charset=utf-8');
    expect(getUiAsset('/favicon.svg')?.contentType).toBe('image/svg+xml');
    const js = new TextDecoder().decode(getUiAsset('app.js')!.body);
    expect(js).toContain('conveyor-config');
    // The bundle carries no console call: the page must log nothing.
    expect(js).not.toMatch(/console\.(log|error|warn|info|debug)/);
  });

  it('caches an asset after the first read', () => {
    expect(getUiAsset('app.css')).toBe(getUiAsset('app.css'));
  });

  it.each([
    '../package.json',
    '../../package.json',
    '..%2fpackage.json',
    'app.js/../../package.json',
    './app.js',
    '.hidden.js',
    'a\\..\\..\\package.json',
    '/etc/passwd',
    '//etc/passwd',
    'app.js\u0000.css',
    'C:/windows/win.ini',
    'missing.js',
    'index.html',
    '',
  ])('refuses %j', (path) => {
    expect(getUiAsset(path)).toBeNull();
  });

  it('boots the app with a nonce on every script, config as escaped JSON, and no style attribute', () => {
    const html = renderUiHtml({ nonce: 'n0nce+/=', basePath: '/dash', readOnly: true, title: 'Jobs' });
    expect(html).toContain('<script type="module" nonce="n0nce+/=" src="/dash/assets/app.js?v=');
    expect(html).toContain('<link rel="stylesheet" href="/dash/assets/app.css?v=');
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts).toHaveLength(2);
    for (const tag of scripts) expect(tag).toContain('nonce="n0nce+/="');
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/https?:\/\//);
    const config = html.match(/<script type="application\/json" id="conveyor-config"[^>]*>(.*?)<\/script>/)?.[1];
    expect(JSON.parse(config!)).toEqual({ basePath: '/dash', readOnly: true, title: 'Jobs' });
  });

  it('escapes everything interpolated: a hostile title and mount path cannot break out', () => {
    const evil = `"><script>alert(1)</script><!--`;
    const html = renderUiHtml({ nonce: `x"onload="alert(1)`, basePath: `/a${evil}`, readOnly: false, title: evil });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('"onload="');
    expect(html.match(/<script\b/g)).toHaveLength(2);
    const config = html.match(/id="conveyor-config"[^>]*>(.*?)<\/script>/)?.[1] ?? '';
    expect(config).not.toContain('<');
    expect(JSON.parse(config).title).toBe(evil);
  });

  it('normalises the mount path', () => {
    expect(renderUiHtml({ nonce: 'n', basePath: '', readOnly: false })).toContain('src="/assets/app.js?v=');
    expect(renderUiHtml({ nonce: 'n', basePath: 'admin/jobs/', readOnly: false })).toContain(
      'src="/admin/jobs/assets/app.js?v=',
    );
  });

  it('escapes HTML and script-embedded JSON', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    expect(serializeJsonForScript({ s: '</script>\u2028' })).toBe('{"s":"\\u003c/script\\u003e\\u2028"}');
  });
});
