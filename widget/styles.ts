/**
 * The widget's only styles, inside its shadow root: the page's selectors do not reach in, and what the host element
 * could inherit from the page (colour, font) is reset by `:host{all:initial!important}` (an important rule of the
 * shadow tree wins over the page's important rules for the host).
 */
export const css = (primary: string, text: string) => `
:host{all:initial!important}
*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:14px;line-height:1.4}
.launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;
 background:${primary};color:${text};box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483646;display:flex;align-items:center;justify-content:center}
.launcher svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:#e11d48;color:#fff;
 font-size:12px;display:none;align-items:center;justify-content:center;padding:0 5px}
.panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);
 background:#fff;color:#111;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden;z-index:2147483647}
.panel.open{display:flex}
header{background:${primary};color:${text};padding:14px 16px;display:flex;align-items:center;justify-content:space-between}
header b{font-size:16px}
header button{background:none;border:0;color:inherit;font-size:22px;cursor:pointer;line-height:1}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#9ca3af;margin-right:8px}
.dot.on{background:#22c55e}
.log{flex:1;overflow-y:auto;padding:12px;background:#f6f7f9;display:flex;flex-direction:column;gap:6px}
.note{color:#555;font-size:13px;text-align:center;margin:6px 0}
.msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}
.msg.in{align-self:flex-end;background:${primary};color:${text};border-bottom-right-radius:4px}
.msg.out{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}
.msg.pending{opacity:.6}
.msg.failed{outline:1px solid #e11d48}
.msg.read::after{content:" \\2713\\2713";font-size:11px;opacity:.8}
.who{display:block;font-size:11px;color:#6b7280;margin-bottom:2px}
.typing{font-size:12px;color:#6b7280;padding:0 14px 4px;min-height:18px;background:#f6f7f9}
form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}
form.pre{flex-direction:column;padding:14px}
input,textarea{flex:1;border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;outline:none;color:#111;background:#fff;resize:none}
input:focus,textarea:focus{border-color:${primary}}
button.send{border:0;border-radius:8px;padding:8px 14px;background:${primary};color:${text};cursor:pointer}
.err{color:#e11d48;font-size:12px;min-height:16px}
`;
