// Every style of the widget; it lives in the shadow root, so none of it leaks into the page.
// A page's own rules only reach the host element, and an `!important` rule of the shadow's
// `:host` beats the page's `!important` (the inner context wins for important rules): so each
// :host declaration is important, and `all: initial` cuts every inherited value off at the host.
export const CSS = `
:host{--a:#4f46e5;all:initial!important;display:block!important;position:fixed!important;right:20px!important;bottom:20px!important;left:auto!important;top:auto!important;width:auto!important;height:auto!important;margin:0!important;padding:0!important;border:0!important;background:none!important;z-index:2147483000!important;visibility:visible!important;opacity:1!important;transform:none!important;filter:none!important;pointer-events:auto!important;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif!important;color:#1c2330!important;text-align:left!important;direction:ltr!important;-webkit-font-smoothing:antialiased}
*,*::before,*::after{box-sizing:border-box;margin:0;padding:0;border:0;font:inherit;color:inherit;letter-spacing:normal;text-transform:none;text-decoration:none;float:none;max-width:none}
[hidden]{display:none!important}
svg{display:block;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
button{background:none;cursor:pointer;-webkit-appearance:none;appearance:none}
button:focus-visible,textarea:focus-visible,a:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.l{position:relative;display:flex;align-items:center;justify-content:center;width:56px;height:56px;border-radius:50%;background:var(--a);color:#fff;box-shadow:0 6px 20px rgba(20,24,40,.25),0 2px 4px rgba(20,24,40,.15);transition:transform .15s ease,box-shadow .15s ease}
.l:hover{transform:scale(1.06);box-shadow:0 8px 26px rgba(20,24,40,.3)}
.l svg{width:26px;height:26px;position:absolute;transition:opacity .15s,transform .2s}
.l .x,.o .l .c{opacity:0;transform:rotate(-45deg) scale(.6)}
.o .l .x{opacity:1;transform:none}
.b{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#e5383b;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center;box-shadow:0 0 0 2px #fff}
.p{position:absolute;right:0;bottom:72px;display:flex;flex-direction:column;width:370px;height:min(600px,calc(100vh - 112px));background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(20,24,40,.22),0 2px 8px rgba(20,24,40,.08);visibility:hidden;opacity:0;transform:translateY(12px) scale(.98);transform-origin:bottom right;transition:opacity .18s ease,transform .18s ease,visibility 0s .18s}
.o .p{visibility:visible;opacity:1;transform:none;transition-delay:0s}
.h{display:flex;align-items:center;gap:12px;padding:16px 14px 16px 18px;background:var(--a);color:#fff}
.av{display:flex;align-items:center;justify-content:center;width:38px;height:38px;border-radius:50%;background:rgba(255,255,255,.18);flex:none}
.av svg{width:20px;height:20px}
.t{flex:1;min-width:0}
.t b{display:block;font-size:15px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.s{display:flex;align-items:center;gap:6px;font-size:12px;opacity:.92}
.s::before{content:"";width:8px;height:8px;border-radius:50%;background:#f5b83d}
.s.on::before{background:#3ddc84}.s.off::before{background:#c4c9d4}
.h button{display:flex;width:32px;height:32px;border-radius:8px;align-items:center;justify-content:center;color:#fff}
.h button:hover{background:rgba(255,255,255,.16)}
.h button svg{width:18px;height:18px}
.m{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#f6f7fb;display:flex;flex-direction:column;gap:8px;overscroll-behavior:contain}
.i{align-self:center;max-width:85%;padding:10px 14px;margin:4px 0 8px;border-radius:12px;background:#fff;color:#4b5563;text-align:center;box-shadow:0 1px 2px rgba(20,24,40,.06)}
.g{display:flex;flex-direction:column;max-width:80%}
.g.same{margin-top:-5px}
.g.visitor{align-self:flex-end;align-items:flex-end}
.g.agent,.g.bot{align-self:flex-start;align-items:flex-start}
.g.system{align-self:center;max-width:90%;align-items:center}
.u{padding:9px 13px;border-radius:18px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
.visitor .u{background:var(--a);color:#fff;border-bottom-right-radius:6px}
.agent .u,.bot .u{background:#fff;color:#1c2330;border-bottom-left-radius:6px;box-shadow:0 1px 2px rgba(20,24,40,.08)}
.system .u{padding:2px 8px;font-size:12px;color:#6b7280;text-align:center}
.u a{text-decoration:underline;color:inherit}
.pending .u{opacity:.65}
.bt{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}
.bt button{padding:6px 12px;border:1.5px solid var(--a);border-radius:16px;color:var(--a);background:#fff;font-weight:600;font-size:13px}
.bt button:hover:not(:disabled){background:var(--a);color:#fff}
.bt button:disabled{cursor:default;opacity:.45;border-color:#c5c9d3;color:#6b7280}
.bt button.on{opacity:1;background:var(--a);border-color:var(--a);color:#fff}
.failed .u{background:#fde8e8;color:#9b1c1c}
.k{margin-top:3px;font-size:11px;color:#8a93a3}
.failed .k{color:#c81e1e}
.e{align-self:stretch;display:flex;align-items:center;gap:10px;margin:8px 0;font-size:12px;color:#8a93a3}
.e::before,.e::after{content:"";flex:1;height:1px;background:#dde1ea}
.y{align-self:flex-start;display:flex;align-items:center;gap:8px;padding:8px 12px;border-radius:18px;background:#fff;color:#6b7280;font-size:12px;box-shadow:0 1px 2px rgba(20,24,40,.08)}
.y i{display:inline-block;width:6px;height:6px;margin-right:3px;border-radius:50%;background:#9aa3b2;animation:sbd 1.2s infinite ease-in-out}
.y i:nth-child(2){animation-delay:.15s}.y i:nth-child(3){animation-delay:.3s;margin-right:0}
@keyframes sbd{0%,60%,100%{transform:none;opacity:.5}30%{transform:translateY(-3px);opacity:1}}
.f{display:flex;align-items:flex-end;gap:8px;padding:10px 10px 10px 14px;border-top:1px solid #eceef3;background:#fff}
textarea{flex:1;display:block;min-height:40px;max-height:120px;padding:9px 12px;border:1px solid #dfe3ea;border-radius:20px;background:#fff;color:#1c2330;resize:none;overflow-y:auto;line-height:20px;outline:none}
textarea:focus{border-color:var(--a);box-shadow:0 0 0 3px color-mix(in srgb,var(--a) 20%,transparent)}
textarea::placeholder{color:#9aa3b2}
.sd{display:flex;flex:none;width:40px;height:40px;border-radius:50%;align-items:center;justify-content:center;background:var(--a);color:#fff;transition:opacity .15s}
.sd:disabled{opacity:.4;cursor:default}
.sd svg{width:18px;height:18px}
@media (max-width:480px){.p{position:fixed;inset:0;width:auto;height:auto;border-radius:0;bottom:0}.o .l{display:none}}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{transition:none!important;animation:none!important}}
`;
