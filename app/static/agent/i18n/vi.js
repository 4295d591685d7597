// Vietnamese, the default language of the agent page. en.js must hold exactly the same keys (a
// test checks). {name} marks a value filled in later. Words for a commune technician: what is
// happening and what to do, not how the protocol works.
export default {
  'app.title': 'BridgeWatch — {name}',
  'app.role': 'Máy tính điểm cầu',
  'app.code': 'Mã {code}',

  'lang.switch': 'English',
  'lang.aria': 'Switch to English',

  'welcome.title': 'Máy này chưa được đăng ký làm điểm cầu',
  'welcome.text':
    'Hãy mở liên kết tham gia do cán bộ kỹ thuật của tỉnh gửi (bấm trực tiếp vào liên kết ' +
    'hoặc quét mã QR) trên máy tính họp trực tuyến của điểm cầu.',
  'welcome.after':
    'Chỉ cần làm một lần: sau đó mở lại trang này (hãy lưu dấu trang) là đủ, không cần liên ' +
    'kết mới.',

  'notice.details': 'Chi tiết kỹ thuật',
  'enrol.working': 'Đang đăng ký máy này với máy chủ giám sát…',
  'enrol.retrying':
    'Chưa liên lạc được máy chủ giám sát để đăng ký. Tự thử lại sau {s} giây; đừng đóng trang.',
  'enrol.refused': 'Không dùng được liên kết này',
  'enrol.used': 'Liên kết này đã được dùng lúc {time}. Mỗi liên kết chỉ dùng được một lần.',
  'enrol.expired': 'Liên kết này đã hết hạn lúc {time}.',
  'enrol.withdrawn':
    'Liên kết này đã bị thu hồi lúc {time}: đã có liên kết mới hơn, hoặc máy của điểm cầu ' +
    'đã bị ngắt.',
  'enrol.unknown':
    'Máy chủ không nhận ra mã trong liên kết này: có thể liên kết bị chép thiếu hoặc sai.',
  'enrol.malformed':
    'Liên kết bị thiếu hoặc sai ký tự. Hãy bấm trực tiếp vào liên kết, hoặc chép đủ cả dòng.',
  'enrol.disabled':
    'Điểm cầu này đang tạm dừng giám sát hoặc không thuộc diện giám sát: chưa thể đăng ký ' +
    'máy vào lúc này.',
  'enrol.other': 'Máy chủ giám sát từ chối đăng ký (mã lỗi {status}).',
  'enrol.ask': 'Hãy xin cán bộ kỹ thuật của tỉnh một liên kết mới.',
  'enrol.askEnable':
    'Hãy gọi cán bộ kỹ thuật của tỉnh bật giám sát cho điểm cầu, rồi mở lại chính liên kết này.',
  'enrol.keeping': 'Máy này vẫn tiếp tục làm điểm cầu {name} như đã đăng ký trước đó.',
  'revoked.title': 'Máy này không còn được giám sát',
  'revoked.text':
    'Máy chủ đã từ chối khóa của máy này: việc đăng ký đã bị thu hồi, hoặc điểm cầu đã được ' +
    'đăng ký trên một máy khác.',

  'elsewhere.title': 'Trang này đang mở ở một thẻ khác',
  'elsewhere.text':
    'Máy này đang gửi tín hiệu từ một thẻ (hoặc cửa sổ) khác của trình duyệt: hãy dùng thẻ đó. ' +
    'Nếu thẻ kia đóng, thẻ này tự tiếp nhận.',

  'connection.title': 'Kết nối tới máy chủ giám sát',
  'connection.connecting': 'Đang kết nối…',
  'connection.connected': 'Đã kết nối',
  'connection.since': 'Máy chủ đang nhận tín hiệu từ máy này, từ {time}.',
  'connection.waiting': 'Chưa kết nối',
  'connection.offline': 'Máy tính đang mất mạng',
  'connection.retry': 'Tự thử lại sau {s} giây.',
  'connection.now': 'Thử lại ngay',
  'why.network': 'Không liên lạc được máy chủ giám sát.',
  'why.offline': 'Máy tính không có mạng; trang sẽ tự kết nối lại khi có mạng.',
  'why.server': 'Máy chủ giám sát đang bận hoặc gặp sự cố (mã lỗi {status}).',
  'why.disabled': 'Máy chủ đang tạm dừng giám sát điểm cầu này (bảo trì).',
  'why.setup':
    'Đã gặp máy chủ nhưng đường truyền tín hiệu không thông (có thể do tường lửa chặn).',
  'why.refused': 'Máy chủ không còn nhận máy này (đã thu hồi hoặc đăng ký ở máy khác).',
  'why.lost': 'Vừa mất kết nối; đang nối lại.',
  'why.relayRefused':
    'Máy chủ chuyển tiếp (TURN) từ chối thông tin đăng nhập của máy này. Đường truyền bắt buộc ' +
    'đi qua máy chủ đó nên chưa kết nối được; trang tự thử lại. Hãy báo cán bộ kỹ thuật của tỉnh.',
  'why.relayUnreachable':
    'Không liên lạc được máy chủ chuyển tiếp (TURN). Đường truyền bắt buộc đi qua máy chủ đó nên ' +
    'chưa kết nối được; trang tự thử lại. Hãy báo cán bộ kỹ thuật của tỉnh.',

  'verdict.title': 'Máy chủ đánh giá điểm cầu này',
  'verdict.none': 'Đang hỏi máy chủ…',
  'verdict.up': 'Tốt',
  'verdict.degraded': 'Chập chờn',
  'verdict.down': 'Mất kết nối',
  'verdict.unknown': 'Chưa rõ',
  'verdict.paused': 'Tạm dừng',
  'verdict.up.text': 'Đường truyền ổn định.',
  'verdict.degraded.text': 'Vẫn kết nối nhưng chất lượng kém: {reason}.',
  'verdict.down.text': 'Máy chủ không nhận được tín hiệu: {reason}.',
  'verdict.unknown.text': 'Máy chủ chưa đủ số liệu để đánh giá; chờ vài giây.',
  'verdict.paused.text': 'Điểm cầu đang tạm dừng giám sát (bảo trì).',
  'verdict.catchingUp': 'Đã kết nối lại; máy chủ sẽ xác nhận sau vài giây đo.',
  'verdict.noReason': 'không rõ lý do',
  'verdict.updated': 'Cập nhật lúc {time}.',
  'verdict.stale': 'Không hỏi được máy chủ từ {time}: kết quả trên có thể đã cũ.',
  'fact.rtt': 'Độ trễ (RTT)',
  'fact.loss': 'Mất gói',
  'fact.contact': 'Liên lạc gần nhất',
  'fact.ago': '{time} ({ago} trước)',

  'attendance.label': 'Số đại biểu có mặt',
  'attendance.submit': 'Gửi',
  'attendance.placeholder': 'Ví dụ: 25',
  'attendance.none': 'Nhập số nguyên từ 0 đến 100.000 rồi bấm Gửi.',
  'attendance.empty': 'Hãy nhập số đại biểu có mặt.',
  'attendance.notNumber': '«{text}» không phải là số nguyên: chỉ nhập chữ số, ví dụ 25.',
  'attendance.negative': 'Số đại biểu không thể là số âm.',
  'attendance.tooLarge': 'Số {text} quá lớn: nhiều nhất là 100.000 đại biểu.',
  'attendance.sent': 'Đã gửi {n} đại biểu lúc {time}.',
  'attendance.pending': 'Đã lưu {n} đại biểu; sẽ gửi ngay khi kết nối.',

  'help.trouble': 'Nếu không kết nối được',
  'help.calm': 'Nếu mất kết nối',
  'help.network': 'Kiểm tra dây mạng hoặc Wi-Fi của máy; thử mở một trang web khác.',
  'help.link': 'Kiểm tra đã mở đúng trang do tỉnh gửi (địa chỉ kết thúc bằng /agent).',
  'help.call': 'Nếu vẫn không được, gọi cán bộ kỹ thuật của tỉnh.',
  'help.keepOpen': 'Để trang này mở suốt hội nghị; có thể thu nhỏ nhưng đừng đóng.',

  'media.title': 'Camera và micrô của điểm cầu',
  'media.start': 'Kiểm tra camera và micrô',
  'media.retry': 'Kiểm tra lại',
  'media.intro':
    'Bấm nút để trang tự theo dõi hình và tiếng của phòng họp (màn hình đen, hình bị đứng, ' +
    'mất tiếng). Khi trình duyệt hỏi, hãy bấm «Cho phép».',
  'media.asking': 'Đang chờ cho phép dùng camera và micrô…',
  'media.unsupported':
    'Trình duyệt không cho trang này dùng camera và micrô (trang cần mở bằng địa chỉ https).',
  'media.private': 'Hình và tiếng chỉ được kiểm tra trên máy này, không gửi đi đâu.',
  'media.picture': 'Hình',
  'media.sound': 'Tiếng',
  'media.checking': 'Đang kiểm tra…',
  'media.picture.ok': 'Có hình',
  'media.picture.none': 'Không có hình ({cause})',
  'media.sound.ok': 'Có tiếng',
  'media.sound.none': 'Không có tiếng ({cause})',
  'media.sound.touch': 'Bấm vào trang một lần để bắt đầu nghe thử micrô.',
  'media.unchecked': 'Chưa kiểm tra được ({cause})',
  'media.cause.noCamera': 'không có camera',
  'media.cause.black': 'màn hình đen',
  'media.cause.frozen': 'hình bị đứng',
  'media.cause.noMicrophone': 'không có micrô',
  'media.cause.silent': 'im lặng',
  'media.cause.deniedCamera': 'chưa cho phép dùng camera',
  'media.cause.deniedMicrophone': 'chưa cho phép dùng micrô',
  'media.cause.busyCamera': 'camera đang bận',
  'media.cause.busyMicrophone': 'micrô đang bận',
  'media.do.noCamera': 'Cắm lại dây camera, chờ vài giây rồi bấm «Kiểm tra lại».',
  'media.do.black': 'Mở nắp che ống kính, bật đèn phòng họp, xem camera có bị che không.',
  'media.do.frozen': 'Hình không thay đổi: rút dây camera ra cắm lại, hoặc khởi động lại camera.',
  'media.do.noMicrophone': 'Cắm lại dây micrô, chờ vài giây rồi bấm «Kiểm tra lại».',
  'media.do.silent':
    'Bật micrô (xem nút tắt tiếng trên micrô và bàn trộn âm thanh), tăng âm lượng, thử nói vào micrô.',
  'media.do.denied':
    'Bấm biểu tượng camera ở thanh địa chỉ, chọn «Luôn cho phép», rồi bấm «Kiểm tra lại».',
  'media.do.busy':
    'Phần mềm khác (như phần mềm họp) đang dùng thiết bị: trang này không kiểm tra được, không sao.',

  'value.none': '—',
  'time.on': '{time} ngày {date}',

  'wake.on': 'Màn hình được giữ sáng.',
  'wake.off': 'Không giữ được màn hình sáng: hãy tắt chế độ ngủ của máy.',
  'version': 'Phiên bản {version}',
};
