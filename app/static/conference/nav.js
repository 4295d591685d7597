// The dashboard's way in to the conferences: its header link, in the dashboard's language (this
// module reads the same choice and follows the switch).
import { translate } from './i18n.js';

translate(document.querySelector('.controls'));
