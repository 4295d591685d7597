// English: exactly the keys of vi.js (a test checks).
export default {
  'app.title': 'BridgeWatch — {name}',
  'app.role': 'Bridge point PC',
  'app.code': 'Code {code}',

  'lang.switch': 'Tiếng Việt',
  'lang.aria': 'Chuyển sang tiếng Việt',

  'welcome.title': 'This PC is not registered as a bridge point yet',
  'welcome.text':
    "Open the join link that the province's technician sent (click the link itself or scan " +
    'its QR code) on the bridge point’s conference PC.',
  'welcome.after':
    'It is needed once: afterwards reopening this page (bookmark it) is enough, with no new link.',

  'notice.details': 'Technical details',
  'enrol.working': 'Registering this PC with the monitoring server…',
  'enrol.retrying':
    'The monitoring server cannot be reached to register. Trying again in {s} s; keep this ' +
    'page open.',
  'enrol.refused': 'This link cannot be used',
  'enrol.used': 'This link was already used at {time}. Each link works once only.',
  'enrol.expired': 'This link expired at {time}.',
  'enrol.withdrawn':
    'This link was withdrawn at {time}: a newer one was made, or the bridge point’s PC was ' +
    'cut off.',
  'enrol.unknown':
    'The server does not know the code in this link: it may have been copied incompletely.',
  'enrol.malformed':
    'The link is incomplete or has wrong characters. Click the link itself, or copy the whole ' +
    'line.',
  'enrol.disabled':
    'This bridge point is paused or not monitored: this PC cannot register now.',
  'enrol.other': 'The monitoring server refused the registration (error {status}).',
  'enrol.ask': "Ask the province's technician for a new link.",
  'enrol.askEnable':
    "Call the province's technician to turn monitoring on, then open this same link again.",
  'enrol.keeping': 'This PC carries on as bridge point {name}, as registered before.',
  'revoked.title': 'This PC is no longer monitored',
  'revoked.text':
    "The server refused this PC's key: its registration was revoked, or the bridge point was " +
    'registered on another PC.',

  'elsewhere.title': 'This page is open in another tab',
  'elsewhere.text':
    'This PC is sending its signal from another tab (or window) of the browser: use that one. ' +
    'If it closes, this tab takes over by itself.',

  'connection.title': 'Connection to the monitoring server',
  'connection.connecting': 'Connecting…',
  'connection.connected': 'Connected',
  'connection.since': 'The server has been receiving this PC’s signal since {time}.',
  'connection.waiting': 'Not connected',
  'connection.offline': 'This PC has no network',
  'connection.retry': 'Trying again in {s} s.',
  'connection.now': 'Try now',
  'why.network': 'The monitoring server cannot be reached.',
  'why.offline': 'The PC has no network; the page reconnects by itself when it is back.',
  'why.server': 'The monitoring server is busy or has a problem (error {status}).',
  'why.disabled': 'The server has paused monitoring of this bridge point (maintenance).',
  'why.setup': 'The server answered but the signal path is blocked (maybe by a firewall).',
  'why.refused': 'The server no longer accepts this PC (revoked, or enrolled on another PC).',
  'why.lost': 'The connection was just lost; reconnecting.',
  'why.relayRefused':
    "The relay server (TURN) refused this PC's credentials. The connection must go through it, " +
    "so it cannot connect yet; the page keeps trying. Tell the province's technical staff.",
  'why.relayUnreachable':
    'The relay server (TURN) cannot be reached. The connection must go through it, so it ' +
    "cannot connect yet; the page keeps trying. Tell the province's technical staff.",

  'verdict.title': 'What the server sees of this bridge point',
  'verdict.none': 'Asking the server…',
  'verdict.up': 'Good',
  'verdict.degraded': 'Unstable',
  'verdict.down': 'Down',
  'verdict.unknown': 'Unknown',
  'verdict.paused': 'Paused',
  'verdict.up.text': 'The link is steady.',
  'verdict.degraded.text': 'Connected, but the quality is poor: {reason}.',
  'verdict.down.text': 'The server receives no signal: {reason}.',
  'verdict.unknown.text': 'The server has not measured enough yet; wait a few seconds.',
  'verdict.paused.text': 'Monitoring of this bridge point is paused (maintenance).',
  'verdict.catchingUp': 'Connected again; the server confirms it within a few seconds.',
  'verdict.noReason': 'no reason given',
  'verdict.updated': 'Updated at {time}.',
  'verdict.stale': 'The server has not answered since {time}: this may be out of date.',
  'fact.rtt': 'Delay (RTT)',
  'fact.loss': 'Packet loss',
  'fact.contact': 'Last contact',
  'fact.ago': '{time} ({ago} ago)',

  'attendance.label': 'Delegates present',
  'attendance.submit': 'Send',
  'attendance.placeholder': 'e.g. 25',
  'attendance.none': 'Type a whole number from 0 to 100,000, then Send.',
  'attendance.empty': 'Type the number of delegates present.',
  'attendance.notNumber': '“{text}” is not a whole number: type digits only, e.g. 25.',
  'attendance.negative': 'The number of delegates cannot be negative.',
  'attendance.tooLarge': '{text} is too many: 100,000 delegates at most.',
  'attendance.sent': 'Sent {n} delegates at {time}.',
  'attendance.pending': 'Saved {n} delegates; sent as soon as connected.',

  'help.trouble': 'If it does not connect',
  'help.calm': 'If the connection drops',
  'help.network': "Check the PC's network cable or Wi-Fi; try opening another web page.",
  'help.link': 'Check that the page is the one the province sent (its address ends in /agent).',
  'help.call': "If it still fails, call the province's technician.",
  'help.keepOpen': 'Keep this page open for the whole conference; minimise it, do not close it.',

  'media.title': "The site's camera and microphone",
  'media.start': 'Check the camera and microphone',
  'media.retry': 'Check again',
  'media.intro':
    "Press the button and this page watches the room's picture and sound by itself (a black " +
    'picture, a frozen picture, no sound). When the browser asks, choose “Allow”.',
  'media.asking': 'Waiting for permission to use the camera and microphone…',
  'media.unsupported':
    'The browser does not let this page use the camera and microphone (it needs an https address).',
  'media.private': 'Picture and sound are checked on this PC only and sent nowhere.',
  'media.picture': 'Picture',
  'media.sound': 'Sound',
  'media.checking': 'Checking…',
  'media.picture.ok': 'Picture OK',
  'media.picture.none': 'No picture ({cause})',
  'media.sound.ok': 'Sound OK',
  'media.sound.none': 'No sound ({cause})',
  'media.sound.touch': 'Click anywhere on the page once to start listening to the microphone.',
  'media.unchecked': 'Cannot check ({cause})',
  'media.cause.noCamera': 'no camera',
  'media.cause.black': 'black',
  'media.cause.frozen': 'frozen',
  'media.cause.noMicrophone': 'no microphone',
  'media.cause.silent': 'silent',
  'media.cause.deniedCamera': 'the camera is not allowed',
  'media.cause.deniedMicrophone': 'the microphone is not allowed',
  'media.cause.busyCamera': 'the camera is busy',
  'media.cause.busyMicrophone': 'the microphone is busy',
  'media.do.noCamera': 'Plug the camera in again, wait a few seconds, then press “Check again”.',
  'media.do.black': 'Take the cap off the lens, turn the room lights on, make sure nothing covers it.',
  'media.do.frozen': 'The picture does not change: unplug the camera and plug it in again.',
  'media.do.noMicrophone': 'Plug the microphone in again, wait a few seconds, then press “Check again”.',
  'media.do.silent':
    'Turn the microphone on (its mute button, the mixer), raise its volume, speak into it.',
  'media.do.denied':
    'Click the camera icon in the address bar, choose “Always allow”, then press “Check again”.',
  'media.do.busy':
    'Another program (such as the conference software) uses the device: this page cannot check it, which is fine.',

  'value.none': '—',
  'time.on': '{time} on {date}',

  'wake.on': 'The screen is kept awake.',
  'wake.off': 'The screen cannot be kept awake: turn off the PC’s sleep mode.',
  'version': 'Version {version}',
};
