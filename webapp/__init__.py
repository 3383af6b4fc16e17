"""The Dash web app: layout, thin callbacks, input checks and the payloads sent to the browser.
The animation itself runs in the browser: assets/player.js plays the race, assets/race.js is the
Dash glue."""

__version__ = "0.1.0"
