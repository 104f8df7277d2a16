// The JavaScript side of the translations. Templates are translated by Django (ui/locale);
// the few strings the script builds itself live here, keyed by their English text so a
// missing translation still shows readable English. The page language is <html lang>, which
// Django's LocaleMiddleware chose from the browser or the language switch.

const CATALOGUES = {
  ru: {
    "Connecting…": "Подключение…",
    "Connected": "Подключено",
    "Reconnecting…": "Переподключение…",
    "Connection lost. Reconnecting…": "Связь потеряна. Переподключение…",
    "Too many open tabs: close some and reload.": "Слишком много открытых вкладок: закройте лишние и обновите страницу.",
    "Too many tabs": "Слишком много вкладок",
    "Today": "Сегодня",
    "Yesterday": "Вчера",
    "New messages": "Новые сообщения",
    "Sending…": "Отправка…",
    "Not sent": "Не отправлено",
    "Retry": "Повторить",
    "Dismiss": "Закрыть",
    "online": "в сети",
    "offline": "не в сети",
    "you": "вы",
    "Message #{room}": "Сообщение в #{room}",
    "Message {user}": "Сообщение для {user}",
    "Direct message": "Личные сообщения",
    "No messages yet. Say hello!": "Сообщений пока нет. Поздоровайтесь!",
    "Loading older messages…": "Загрузка более ранних сообщений…",
    "This is the beginning of #{room}.": "Это начало комнаты #{room}.",
    "This is the beginning of your conversation with {user}.": "Это начало вашей переписки с {user}.",
    "{user} is typing…": "{user} печатает…",
    "{a} and {b} are typing…": "{a} и {b} печатают…",
    "Several people are typing…": "Несколько человек печатают…",
    "Nobody else is here right now.": "Больше здесь сейчас никого нет.",
    "Open a direct message with {user}": "Написать {user} лично",
    "Room names are 1 to 64 letters, digits, spaces or punctuation.": "Название комнаты: от 1 до 64 букв, цифр, пробелов или знаков препинания.",
    "Usage: /pm USER TEXT": "Формат: /pm ПОЛЬЗОВАТЕЛЬ ТЕКСТ",
    "There is no user called {user}.": "Пользователя {user} нет.",
    "You cannot send a direct message to yourself.": "Нельзя написать личное сообщение самому себе.",
    "Too many messages; wait a moment.": "Слишком много сообщений, подождите немного.",
    "The message is too long.": "Сообщение слишком длинное.",
    "The message is empty.": "Сообщение пустое.",
    "You are in too many rooms.": "Вы состоите в слишком многих комнатах.",
    "Join the room first.": "Сначала присоединитесь к комнате.",
    "That room does not exist.": "Такой комнаты нет.",
    "The server could not handle that.": "Сервер не смог это обработать.",
    "Server problem": "Сбой сервера",
    "Rename room": "Переименовать комнату",
    "Rename": "Переименовать",
    "Cancel": "Отмена",
    "New name for #{room}": "Новое название для #{room}",
    "#{room} is now called #{name}.": "Комната #{room} теперь называется #{name}.",
    "There is already a room called #{room}.": "Комната #{room} уже есть.",
    "Only an administrator can rename a room.": "Переименовать комнату может только администратор.",
    "This page keeps trying to connect.": "Страница продолжает попытки подключиться.",
    "The disk holding the chat's database is full: nothing new can be stored. Whoever runs Deskchat must free space on that disk; then unsent messages can be sent again.": "Диск с базой данных чата заполнен: ничего нового сохранить нельзя. Тот, кто запустил Deskchat, должен освободить место на этом диске; затем неотправленные сообщения можно будет отправить снова.",
    "Another program holds the chat's database locked: nothing new can be stored until it lets go. Send again in a moment.": "Другая программа заблокировала базу данных чата: ничего нового сохранить нельзя, пока она её не отпустит. Отправьте снова чуть позже.",
    "The chat's database is damaged: nothing can be stored. Whoever runs Deskchat should quit it and restore the last backup (deskchat restore FILE).": "База данных чата повреждена: ничего сохранить нельзя. Тот, кто запустил Deskchat, должен закрыть его и восстановить последнюю резервную копию (deskchat restore ФАЙЛ).",
    "{user} (you)": "{user} (вы)",
    "This message is {n} character over the limit of {max}. Shorten it or send it in parts.": [
      "Сообщение длиннее допустимого на {n} символ (предел — {max}). Сократите его или отправьте частями.",
      "Сообщение длиннее допустимого на {n} символа (предел — {max}). Сократите его или отправьте частями.",
      "Сообщение длиннее допустимого на {n} символов (предел — {max}). Сократите его или отправьте частями.",
    ],
    "Not connected: your message is still here. Try again in a moment.": "Нет связи с сервером: сообщение осталось здесь. Попробуйте чуть позже.",
    "Not connected. Try again in a moment.": "Нет связи с сервером. Попробуйте чуть позже.",
    "{n} / {max}": "{n} / {max}",
    "{n} / {max}: {over} too many": "{n} / {max}: лишних {over}",
    "Create #{room}": "Создать #{room}",
    "There is no room called #{room}.": "Комнаты #{room} нет.",
    "You left #{room}.": "Вы вышли из комнаты #{room}.",
    "Undo": "Отменить",
    "Retry now": "Повторить сейчас",
    "Waiting to send (too many messages at once)…": "Ждёт отправки (слишком много сообщений сразу)…",
    "No conversation matches.": "Ничего не найдено.",
    "{n} conversation": ["{n} переписка", "{n} переписки", "{n} переписок"],
    "{room}, {n} unread": ["{room}, {n} непрочитанное", "{room}, {n} непрочитанных", "{room}, {n} непрочитанных"],
    "{user}, {n} unread": ["{user}, {n} непрочитанное", "{user}, {n} непрочитанных", "{user}, {n} непрочитанных"],
    "{n} new message": ["{n} новое сообщение", "{n} новых сообщения", "{n} новых сообщений"],
    "{n} online": ["{n} в сети", "{n} в сети", "{n} в сети"],
    "Online — {n}": ["В сети — {n}", "В сети — {n}", "В сети — {n}"],
    "The file is larger than this server accepts ({max}).": "Файл больше, чем принимает этот сервер ({max}).",
    "The file is empty.": "Файл пустой.",
    "The image is too large to process.": "Изображение слишком большое для обработки.",
    "That person's account no longer exists.": "Учётной записи этого человека больше нет.",
    "You are logged out: log in again to send files.": "Вы вышли из системы: войдите снова, чтобы отправлять файлы.",
    "Choose a file to upload.": "Выберите файл для загрузки.",
    "{name}, {size}: open full size": "{name}, {size}: открыть в полном размере",
    "The upload failed. Check the connection and try again.": "Загрузка не удалась. Проверьте подключение и попробуйте ещё раз.",
    "pasted image": "вставленное изображение",
    "Uploading {name}": "Загрузка {name}",
    "Uploading…": "Загрузка…",
    "Cancel": "Отмена",
    "{percent}%": "{percent}%",
    "This file cannot be sent here, or it waited unsent too long and was removed: upload it again.": "Этот файл нельзя отправить сюда, или он слишком долго ждал отправки и был удалён: загрузите его снова.",
    "B": "Б",
    "KB": "КБ",
    "MB": "МБ",
    "GB": "ГБ",
    "{user} in #{room}": "{user} в #{room}",
    "Available": "На месте",
    "muted": "без уведомлений",
    "Away": "Нет на месте",
    "Do not disturb": "Не беспокоить",
    "Notifications: on": "Уведомления: включены",
    "Notifications: off": "Уведомления: выключены",
    "Notifications: paused (do not disturb)": "Уведомления: приостановлены (не беспокоить)",
    "Notifications are on: Deskchat shows them on your desktop.": "Уведомления включены: Deskchat показывает их на рабочем столе.",
    "Notifications are on. The menu at the top of each conversation says which of its messages notify you.": "Уведомления включены. Меню вверху каждой переписки задаёт, о каких её сообщениях уведомлять.",
    "Notifications are off. Turn them on to hear of messages while Deskchat is in the background.": "Уведомления выключены. Включите их, чтобы узнавать о сообщениях, пока Deskchat в фоне.",
    "This browser blocks notifications from Deskchat. Allow them in the site settings (the lock next to the address), then reload.": "Браузер запретил уведомления от Deskchat. Разрешите их в настройках сайта (значок замка у адреса) и обновите страницу.",
    "This browser cannot show notifications.": "Этот браузер не умеет показывать уведомления.",
    "{name}, {n} unread, mentioned": ["{name}, {n} непрочитанное, вас упомянули", "{name}, {n} непрочитанных, вас упомянули", "{name}, {n} непрочитанных, вас упомянули"],
    "Searching…": "Поиск…",
    "Nothing found.": "Ничего не найдено.",
    "Only in #{room}": "Только в #{room}",
    "Only with {user}": "Только с {user}",
    "That search cannot be run: type at least one word, up to 12 words and 256 characters.": "Такой поиск невозможен: введите хотя бы одно слово, не больше 12 слов и 256 символов.",
    "{n} message found": ["Найдено {n} сообщение", "Найдено {n} сообщения", "Найдено {n} сообщений"],
  },
};

export const LANG = (document.documentElement.lang || "en").slice(0, 2).toLowerCase();
const catalogue = CATALOGUES[LANG] || {};

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

/** Translate ``key`` and fill ``{name}`` placeholders. */
export function t(key, params = {}) {
  const found = catalogue[key];
  return fill(typeof found === "string" ? found : key, params);
}

function pluralIndex(n) {
  if (LANG === "ru") {
    const tens = n % 100;
    const ones = n % 10;
    if (ones === 1 && tens !== 11) return 0;
    if (ones >= 2 && ones <= 4 && (tens < 12 || tens > 14)) return 1;
    return 2;
  }
  return n === 1 ? 0 : 1;
}

/** A count-dependent string: ``singular`` is the key, English adds ``plural`` for n ≠ 1. */
export function tn(singular, plural, n, params = {}) {
  const forms = catalogue[singular];
  let text;
  if (Array.isArray(forms)) text = forms[Math.min(pluralIndex(n), forms.length - 1)];
  else text = n === 1 ? singular : plural;
  return fill(text, { n, ...params });
}

const timeFormat = new Intl.DateTimeFormat(LANG, { hour: "numeric", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(LANG, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(LANG, { weekday: "long", day: "numeric", month: "long" });
const dayYearFormat = new Intl.DateTimeFormat(LANG, { day: "numeric", month: "long", year: "numeric" });

export function formatTime(date) {
  return timeFormat.format(date);
}

export function formatFull(date) {
  return fullFormat.format(date);
}

/** A local calendar day as a sortable key ("2026-11-26"). */
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** "Today", "Yesterday", "Monday, 3 November" or, for other years, "3 November 2025". */
export function formatDay(date, now = new Date()) {
  if (dayKey(date) === dayKey(now)) return t("Today");
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(yesterday)) return t("Yesterday");
  const text = date.getFullYear() === now.getFullYear() ? dayFormat.format(date) : dayYearFormat.format(date);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
