// Bootstrap Italia bundles Video.js, which injects a <style> element on load; our
// Content-Security-Policy refuses inline styles, so tell Video.js not to.
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
