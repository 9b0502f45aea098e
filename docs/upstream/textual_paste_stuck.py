"""Minimal reproduction for a Textual issue: a torn paste end marker leaves input dead.

Run: `python docs/upstream/textual_paste_stuck.py` (Textual 8.2.8 prints `['escape']`;
expected `['paste:hello', 'a']`).

`XTermParser.parse` times out an `ESC` not followed within `ESCDELAY` (100 ms) by the
rest of a sequence and reports the Escape key, also while `bracketed_paste` is set.
When the end marker `ESC[201~` reaches the input thread in two reads more than 100 ms
apart (split by the network, or the thread held up by a long garbage collection on the
UI thread between its `feed` and its `tick`), the `ESC` times out, `[201~` is appended
to the paste buffer, and `bracketed_paste` is never cleared: every later key goes into
a paste that never ends. Expected: inside a paste, an `ESC` waits for the rest of the
end marker (there is no Escape key to report there); and a paste whose end marker never
comes (some terminals drop it) ends after a while without input.
"""

import time

from textual import events
from textual._xterm_parser import XTermParser

parser = XTermParser()
tokens = list(parser.feed("\x1b[200~hello\x1b"))
time.sleep(0.15)  # the input thread ticks at least every 100 ms
tokens += parser.tick()
tokens += parser.feed("[201~")
tokens += parser.feed("a")  # the next key
print([f"paste:{t.text}" if isinstance(t, events.Paste) else t.key for t in tokens
       if isinstance(t, events.Paste | events.Key)])  # fmt: skip
